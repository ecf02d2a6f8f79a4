/**
 * The tests' Python environment for talking to `agp serve` the way TensorFlow Serving users do:
 * a venv under .cache/tfserving-client-venv with the official client (`tensorflow-serving-api`
 * from the Python package index, which brings grpcio and TensorFlow) and `prometheus_client`
 * (Prometheus' own exposition-format parser). Built once, like test/pyarrow-venv.ts: in a
 * temporary directory renamed into place, a stamp recording what was installed. When it cannot
 * be built the tests that need it fail with the step and its output, unless
 * AGP_SKIP_TFSERVING_CLIENT=1 says to skip them (an offline machine).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What the venv holds (pinned: the newest on the package index when written). */
export const CLIENT_PACKAGES = ['tensorflow-serving-api==2.21.0', 'prometheus_client==0.26.0'];

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Why the Python-client tests are skipped, or undefined when they must run. */
export function pythonClientSkipReason(): string | undefined {
  return process.env['AGP_SKIP_TFSERVING_CLIENT'] === '1'
    ? 'AGP_SKIP_TFSERVING_CLIENT=1: tests that use the official TF Serving Python client are skipped'
    : undefined;
}

function step(name: string, cmd: string, args: readonly string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) {
    const out = `${res.error ? `${res.error.message}\n` : ''}${res.stdout ?? ''}${res.stderr ?? ''}`;
    throw new Error(
      `tfserving client venv: ${name} failed: ${cmd} ${args.join(' ')}\n${out.trim().split('\n').slice(-15).join('\n')}\n` +
        '(set AGP_SKIP_TFSERVING_CLIENT=1 to skip the tests that need it)',
    );
  }
  return res.stdout;
}

/**
 * Creates (once) the venv and returns its python.
 * @throws Error naming the failed step and the tail of its output.
 */
export function ensurePythonClientVenv(): string {
  const venv = path.join(ROOT, '.cache', 'tfserving-client-venv');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.agp-packages');
  const want = CLIENT_PACKAGES.join(' ');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return python;
  const tmp = `${venv}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true });
  try {
    step(`creating ${tmp}`, 'python3', ['-m', 'venv', tmp]);
    const py = path.join(tmp, 'bin', 'python');
    step(`installing ${want}`, py, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--quiet',
      ...CLIENT_PACKAGES,
    ]);
    step('checking that the client imports', py, [
      '-c',
      'from tensorflow_serving.apis import prediction_service_pb2_grpc; import grpc, prometheus_client.parser',
    ]);
    fs.writeFileSync(path.join(tmp, '.agp-packages'), want);
    fs.rmSync(venv, { recursive: true, force: true });
    fs.renameSync(tmp, venv);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return python;
}

/**
 * Runs a Python script with the venv's python without blocking this process (the script talks
 * to a server in it); resolves with its standard output.
 * @throws Error with the exit code and the tail of its output.
 */
export function runPython(
  python: string,
  script: string,
  args: readonly string[],
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else {
        const tail = `${stdout}${stderr}`.trim().split('\n').slice(-20).join('\n');
        reject(new Error(`${path.basename(script)} exited with ${code}:\n${tail}`));
      }
    });
  });
}
