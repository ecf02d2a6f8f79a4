import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureInfra, stopInfra, type Component } from '../infra/stack';
import { parseInfraConfig } from '../src/config/env';
import { runMain } from '../src/cli/run-main';

/**
 * `npm test`: lint, typecheck, unit tests, then integration and end-to-end tests against real
 * servers. Servers that are not running are started for the run and stopped after it; running
 * ones (ours or TEMPORAL_ADDRESS / KAFKA_BROKERS) are reused and left alone. Every stage runs
 * even when an earlier one failed, so one run shows every problem; the exit code is non-zero
 * if any failed. The output ends with the node test runner's own summary lines.
 *
 * The `setup` stage provisions TensorFlow's native kernels for tfjs (`npm run setup:tensorflow`:
 * libtensorflow from the PyPI wheel, cached under .cache/), so the tests exercise the
 * `tensorflow` backend that production uses, not only the wasm/cpu fallbacks.
 *
 * Usage: tsx test/run-tests.ts [setup] [lint] [typecheck] [unit] [integration]   (default: all)
 */
const STAGES = ['setup', 'lint', 'typecheck', 'unit', 'integration'] as const;
type Stage = (typeof STAGES)[number];

const ROOT = path.resolve(__dirname, '..');

function say(line: string): void {
  process.stdout.write(`\n== ${line}\n`);
}

/** Runs a command with inherited output; resolves with its exit code. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.once('error', (error) => {
      process.stderr.write(`${command}: ${error.message}\n`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Test files under `dirs`, sorted, so runs are reproducible. */
function testFiles(...dirs: string[]): string[] {
  return dirs
    .flatMap((dir) => {
      const abs = path.join(ROOT, dir);
      if (!fs.existsSync(abs)) return [];
      return fs
        .readdirSync(abs, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => path.join(dir, f));
    })
    .sort();
}

const nodeTest = (extra: string[], files: string[], env?: NodeJS.ProcessEnv) =>
  run(
    process.execPath,
    ['--import', 'tsx', '--import', './test/quiet-tfjs.mjs', '--test', ...extra, ...files],
    env,
  );

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !(STAGES as readonly string[]).includes(a));
  if (unknown.length) {
    process.stderr.write(`unknown stage(s) ${unknown.join(', ')}; stages: ${STAGES.join(' ')}\n`);
    return 2;
  }
  const stages: readonly Stage[] = argv.length ? (argv as Stage[]) : STAGES;
  const failed: string[] = [];
  const npx = (args: string[]) => run('npx', ['--no-install', ...args]);

  if (stages.includes('setup')) {
    say('setup: the tensorflow backend for tfjs (npm run setup:tensorflow)');
    if ((await run('npm', ['run', '--silent', 'setup:tensorflow'])) !== 0)
      failed.push('setup:tensorflow');
  }
  if (stages.includes('lint')) {
    say('lint: eslint + prettier --check');
    if ((await npx(['eslint', '.'])) !== 0) failed.push('eslint');
    if ((await npx(['prettier', '--check', '.'])) !== 0) failed.push('prettier');
  }
  if (stages.includes('typecheck')) {
    say('typecheck: tsc --noEmit');
    if ((await npx(['tsc', '--noEmit', '-p', 'tsconfig.json'])) !== 0) failed.push('typecheck');
  }
  if (stages.includes('unit')) {
    const files = testFiles('test/unit');
    say(`unit tests: ${files.length} file(s)`);
    if (files.length && (await nodeTest([], files)) !== 0) failed.push('unit');
  }
  if (!stages.includes('integration')) {
    if (failed.length) say(`FAILED: ${failed.join(', ')}`);
    return failed.length ? 1 : 0;
  }

  const files = testFiles('test/integration', 'test/e2e', 'test/faults');
  const config = parseInfraConfig();
  say('servers for integration tests');
  const infraStart = Date.now();
  const states = await ensureInfra(config, (line) => process.stdout.write(`infra: ${line}\n`));
  const started: Component[] = states.filter((s) => s.state === 'started').map((s) => s.component);
  const stopStarted = () => (started.length ? stopInfra(config, started) : Promise.resolve([]));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopStarted().finally(() => process.exit(130));
    });
  }
  for (const s of states) {
    process.stdout.write(`${s.component.padEnd(8)} ${s.version}  at ${s.address} (${s.state})\n`);
  }
  process.stdout.write(`servers ready in ${((Date.now() - infraStart) / 1000).toFixed(1)}s\n`);
  if (started.length)
    process.stdout.write(`(${started.join(', ')} will be stopped after the tests)\n`);
  if (failed.length) say(`earlier stages FAILED: ${failed.join(', ')} (npm test will exit 1)`);

  say(`integration, e2e and fault tests: ${files.length} file(s), one at a time`);
  let code = 0;
  try {
    code = files.length
      ? await nodeTest(['--test-concurrency=1'], files, {
          ...process.env,
          TEMPORAL_ADDRESS: config.temporal.address,
          TEMPORAL_NAMESPACE: config.temporal.namespace,
          KAFKA_BROKERS: config.kafka.brokers.join(','),
        })
      : 0;
  } finally {
    await stopStarted();
  }
  return failed.length || code !== 0 ? 1 : 0;
}

runMain('npm test', () => main(process.argv.slice(2)));
