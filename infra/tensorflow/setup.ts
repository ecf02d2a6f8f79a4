/**
 * `npm run setup:tensorflow [-- --gpu] [-- --force]`: gives tfjs TensorFlow's native kernels on
 * machines that reach the npm registry and the Python package index but not Google's storage.
 *
 * 1. installs `@tensorflow/tfjs-node` into node_modules with its install script disabled (the
 *    script downloads libtensorflow from Google storage), without touching package.json/lock;
 * 2. downloads the TensorFlow wheel with pip and unpacks only the shared libraries and C headers;
 * 3. writes a CPython stub library (see python-stub.ts) and a linker script so that the binding's
 *    `-ltensorflow` links against the wheel's `_pywrap_tensorflow_internal.so`, which exports
 *    the TF_* / TFE_* C API;
 * 4. builds the binding with node-gyp against the local node headers (no header download);
 * 5. verifies in a child process that `require('@tensorflow/tfjs-node')` gives the `tensorflow`
 *    backend and computes correctly.
 * Everything is cached under .cache/tensorflow/; a second run only re-links what npm removed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InfraError } from '../../src/errors';
import { isPythonSymbol, parseUndefinedSymbols, pythonStubSource } from './python-stub';

/** tfjs-node 4.22.0 pins libtensorflow 2.9.1 (scripts/deps-constants.js): use the same TF. */
const TFJS_NODE_VERSION = '4.22.0';
const TF_VERSION = '2.9.1';
/** Any CPython tag works (no Python code is used); 2.9.1 has wheels for cp37–cp310. */
const WHEEL_PYTHON = '3.10';
const WHEEL_PLATFORM = 'manylinux2014_x86_64';
/** tfjs-node's dist loads lib/napi-v{N} with N the highest of its napi_versions (3–8) ≤ node's. */
const NAPI_BUILD_VERSION = 8;
/** Wheel members the binding needs: the two libraries and the C API headers. */
const WHEEL_LIBS = [
  'tensorflow/libtensorflow_framework.so.2',
  'tensorflow/python/_pywrap_tensorflow_internal.so',
];
const WHEEL_HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/core/platform/ctstring',
];

interface Variant {
  pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';
  wheel: 'tensorflow-cpu' | 'tensorflow';
  tag: 'cpu' | 'gpu';
}

const CPU: Variant = { pkg: '@tensorflow/tfjs-node', wheel: 'tensorflow-cpu', tag: 'cpu' };
/** Untested here (no GPU): the `tensorflow` wheel is the CUDA build on Linux. */
const GPU: Variant = { pkg: '@tensorflow/tfjs-node-gpu', wheel: 'tensorflow', tag: 'gpu' };

const root = path.resolve(__dirname, '..', '..');
const cacheDir = path.join(root, '.cache', 'tensorflow');
const logDir = path.join(cacheDir, 'logs');

function log(message: string): void {
  process.stdout.write(`setup:tensorflow: ${message}\n`);
}

/**
 * Runs a command, its output going to .cache/tensorflow/logs/<step>.log; on failure throws an
 * InfraError naming the step, the command, the log and the output's last lines.
 */
function run(stepName: string, cmd: string, args: readonly string[], cwd = root): string {
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${stepName}.log`);
  const res = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const output = `$ ${cmd} ${args.join(' ')}\n${res.stdout ?? ''}${res.stderr ?? ''}`;
  fs.writeFileSync(logFile, output);
  if (res.error !== undefined || res.status !== 0) {
    const tail = output.trim().split('\n').slice(-15).join('\n');
    const why = res.error !== undefined ? res.error.message : `exit code ${String(res.status)}`;
    throw new InfraError(
      `step '${stepName}' failed (${why}): ${cmd} ${args.join(' ')}\n  full log: ${logFile}\n${tail}`,
      { retriable: false },
    );
  }
  return res.stdout;
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Fails early, naming what is missing, before any download. */
function checkPrerequisites(): string {
  const missing = ['python3', 'c++', 'make', 'nm', 'cc'].filter((c) => !hasCommand(c));
  if (missing.length > 0) {
    throw new InfraError(
      `missing tools: ${missing.join(', ')} (Debian: apt-get install python3 python3-pip build-essential)`,
      { retriable: false },
    );
  }
  const nodedir = process.env['AGP_NODEDIR'] ?? path.resolve(path.dirname(process.execPath), '..');
  if (!fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
    throw new InfraError(
      `node headers not found at ${nodedir}/include/node (set AGP_NODEDIR to the prefix that has ` +
        `include/node/node_api.h; Debian: apt-get install libnode-dev)`,
      { retriable: false },
    );
  }
  return nodedir;
}

function packageDir(variant: Variant): string {
  return path.join(root, 'node_modules', ...variant.pkg.split('/'));
}

function installPackage(variant: Variant): void {
  const manifest = path.join(packageDir(variant), 'package.json');
  if (fs.existsSync(manifest)) {
    const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: string };
    if (version === TFJS_NODE_VERSION) return;
  }
  log(`installing ${variant.pkg}@${TFJS_NODE_VERSION} (install script disabled, not saved)`);
  const npmArgs = [
    'install',
    '--no-save',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    `${variant.pkg}@${TFJS_NODE_VERSION}`,
  ];
  // Other engineers' npm runs share node_modules: serialise on the project's npm lock.
  if (hasCommand('flock')) run('npm-install', 'flock', ['/tmp/agp-npm.lock', 'npm', ...npmArgs]);
  else run('npm-install', 'npm', npmArgs);
}

/** Downloads the wheel with pip (cached) and returns its path. */
function downloadWheel(variant: Variant): string {
  const dir = path.join(cacheDir, 'wheels');
  const prefix = `${variant.wheel.replace('-', '_')}-${TF_VERSION}-`;
  const find = (): string | undefined =>
    fs.existsSync(dir)
      ? fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.whl'))
      : undefined;
  const cached = find();
  if (cached !== undefined) return path.join(dir, cached);
  log(`downloading ${variant.wheel}==${TF_VERSION} from the Python package index`);
  run('pip-download', 'python3', [
    '-m',
    'pip',
    'download',
    '--no-deps',
    '--only-binary=:all:',
    '--platform',
    WHEEL_PLATFORM,
    '--python-version',
    WHEEL_PYTHON,
    '--dest',
    dir,
    `${variant.wheel}==${TF_VERSION}`,
  ]);
  const got = find();
  if (got === undefined)
    throw new InfraError(`pip reported success but no ${prefix}*.whl is in ${dir}`);
  return path.join(dir, got);
}

/** Unpacks the libraries and headers into <deps>/lib and <deps>/include. */
function unpackWheel(wheel: string, deps: string): void {
  const script = [
    'import sys, zipfile, shutil, os',
    'whl, deps, libs, hdrs = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(",")',
    'z = zipfile.ZipFile(whl)',
    'names = z.namelist()',
    'missing = [l for l in libs if l not in names]',
    'if missing: sys.exit("not in the wheel: " + ", ".join(missing))',
    'def put(name, dest):',
    '  os.makedirs(os.path.dirname(dest), exist_ok=True)',
    '  with z.open(name) as src, open(dest, "wb") as out: shutil.copyfileobj(src, out, 1 << 20)',
    'for l in libs: put(l, os.path.join(deps, "lib", os.path.basename(l)))',
    'for n in names:',
    '  if not n.endswith("/") and any(n.startswith(h) for h in hdrs):',
    '    put(n, os.path.join(deps, "include", n[len("tensorflow/include/"):]))',
  ].join('\n');
  log(`unpacking ${path.basename(wheel)}`);
  run('unpack-wheel', 'python3', [
    '-c',
    script,
    wheel,
    deps,
    WHEEL_LIBS.join(','),
    WHEEL_HEADER_PREFIXES.join(','),
  ]);
}

/**
 * Makes <deps>/lib look like a libtensorflow release to binding.gyp's `-ltensorflow
 * -ltensorflow_framework`: libtensorflow.so is a linker script naming the wheel's C API library
 * and the CPython stub, so the binding records both as needed libraries.
 */
function layoutLibs(deps: string): void {
  const lib = path.join(deps, 'lib');
  const undefinedSyms = parseUndefinedSymbols(
    run('nm', 'nm', ['-D', '--undefined-only', path.join(lib, '_pywrap_tensorflow_internal.so')]),
  );
  const exported = run('nm-defined', 'nm', [
    '-D',
    '--defined-only',
    path.join(lib, '_pywrap_tensorflow_internal.so'),
  ]);
  for (const sym of [
    'TF_NewStatus',
    'TFE_NewContext',
    'TFE_Execute',
    'TF_LoadSessionFromSavedModel',
  ]) {
    if (!new RegExp(`\\s${sym}(@|$)`, 'm').test(exported)) {
      throw new InfraError(`the wheel's _pywrap_tensorflow_internal.so does not export ${sym}`);
    }
  }
  const stubC = path.join(lib, 'agp_python_stub.c');
  fs.writeFileSync(stubC, pythonStubSource(undefinedSyms.filter(isPythonSymbol)));
  run('python-stub', 'cc', [
    '-shared',
    '-fPIC',
    '-O1',
    '-Wl,-soname,libagp_python_stub.so',
    '-o',
    path.join(lib, 'libagp_python_stub.so'),
    stubC,
  ]);
  fs.writeFileSync(
    path.join(lib, 'libtensorflow.so'),
    '/* Generated by infra/tensorflow/setup.ts */\nINPUT(_pywrap_tensorflow_internal.so libagp_python_stub.so)\n',
  );
  fs.rmSync(path.join(lib, 'libtensorflow_framework.so'), { force: true });
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(lib, 'libtensorflow_framework.so'));
}

/** Unpacks and lays out the wheel once per variant+version; returns the deps directory. */
function prepareDeps(variant: Variant, force: boolean): string {
  const deps = path.join(cacheDir, `tf-${variant.tag}-${TF_VERSION}`, 'deps');
  const stamp = path.join(deps, '.complete');
  if (!force && fs.existsSync(stamp)) return deps;
  fs.rmSync(deps, { recursive: true, force: true });
  unpackWheel(downloadWheel(variant), deps);
  layoutLibs(deps);
  fs.writeFileSync(stamp, `${variant.wheel}==${TF_VERSION}\n`);
  return deps;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Points the package's deps/ at the cache and builds (or restores from the cache) the binding
 * into lib/napi-v8/, where tfjs-node's loader looks for it.
 */
function buildBinding(variant: Variant, deps: string, nodedir: string, force: boolean): void {
  const pkg = packageDir(variant);
  const depsLink = path.join(pkg, 'deps');
  if (!fs.existsSync(depsLink) || fs.realpathSync(depsLink) !== fs.realpathSync(deps)) {
    fs.rmSync(depsLink, { recursive: true, force: true });
    fs.symlinkSync(deps, depsLink);
  }
  const moduleDir = path.join(pkg, 'lib', `napi-v${NAPI_BUILD_VERSION}`);
  const built = path.join(moduleDir, 'tfjs_binding.node');
  const cached = path.join(
    path.dirname(deps),
    `binding-node${process.versions.modules}`,
    'tfjs_binding.node',
  );
  const key = `${sha256(path.join(pkg, 'binding.gyp'))}:${nodedir}`;
  const keyFile = `${cached}.key`;
  if (
    !force &&
    fs.existsSync(cached) &&
    fs.existsSync(keyFile) &&
    fs.readFileSync(keyFile, 'utf8') === key
  ) {
    if (!fs.existsSync(built)) {
      fs.mkdirSync(moduleDir, { recursive: true });
      fs.copyFileSync(cached, built);
    }
    return;
  }
  log(`building the native binding with node-gyp (node headers: ${nodedir}/include/node)`);
  run(
    'node-gyp',
    process.execPath,
    [
      nodeGypScript(),
      'rebuild',
      `--nodedir=${nodedir}`,
      '--module_name=tfjs_binding',
      `--module_path=${moduleDir}`,
      `--napi_build_version=${NAPI_BUILD_VERSION}`,
      '-j',
      '2',
    ],
    pkg,
  );
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.copyFileSync(built, cached);
  fs.writeFileSync(keyFile, key);
}

/** node-gyp as bundled with npm (npm sets npm_config_node_gyp for scripts it runs). */
function nodeGypScript(): string {
  const fromNpm = process.env['npm_config_node_gyp'];
  if (fromNpm !== undefined && fs.existsSync(fromNpm)) return fromNpm;
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  const bundled = path.join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return bundled;
  throw new InfraError(`node-gyp not found (looked at $npm_config_node_gyp and ${bundled})`, {
    retriable: false,
  });
}

/** Loads the package in a fresh node and checks backend name and a product's value. */
function verify(variant: Variant): string {
  const script = [
    "process.env.TF_CPP_MIN_LOG_LEVEL = process.env.TF_CPP_MIN_LOG_LEVEL || '2';",
    `const tf = require('${variant.pkg}');`,
    "if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());",
    'const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();',
    "if (y[0] !== 17 || y[1] !== 39) throw new Error('wrong matMul result ' + Array.from(y));",
    'console.log(tf.backend().binding.TF_Version);',
  ].join('\n');
  return run('verify', process.execPath, ['-e', script]).trim();
}

function main(argv: readonly string[]): number {
  const variant = argv.includes('--gpu') ? GPU : CPU;
  const force = argv.includes('--force');
  try {
    const nodedir = checkPrerequisites();
    installPackage(variant);
    const deps = prepareDeps(variant, force);
    buildBinding(variant, deps, nodedir, force);
    const tfVersion = verify(variant);
    log(`ok: require('${variant.pkg}') gives backend 'tensorflow' (TensorFlow ${tfVersion})`);
    return 0;
  } catch (err) {
    process.stderr.write(`setup:tensorflow: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
