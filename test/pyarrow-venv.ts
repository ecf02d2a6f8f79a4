/**
 * The tests' Python environment for writing Parquet and Arrow files the way pyarrow users do: a
 * venv under .cache/pyarrow-venv with pyarrow from the Python package index (like
 * bench/throughput/torch-venv.ts). Building it needs the network once; when it cannot be built
 * the tests that need it fail with the step and its output, unless AGP_SKIP_PYARROW=1 says to
 * skip them (e.g. an offline machine), which the test runner then reports as skipped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The pyarrow the files are written with (newest on the package index when pinned). */
export const PYARROW_VERSION = '26.0.1';

const ROOT = path.resolve(__dirname, '..');

/** Why pyarrow tests are skipped, or undefined when they must run. */
export function pyarrowSkipReason(): string | undefined {
  return process.env['AGP_SKIP_PYARROW'] === '1'
    ? 'AGP_SKIP_PYARROW=1: tests that write files with pyarrow are skipped'
    : undefined;
}

function sh(cmd: string, args: readonly string[]): { ok: boolean; out: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const err = res.error ? `${res.error.message}\n` : '';
  return { ok: res.status === 0, out: `${err}${res.stdout ?? ''}${res.stderr ?? ''}` };
}

function step(name: string, cmd: string, args: readonly string[]): string {
  const res = sh(cmd, args);
  if (!res.ok) {
    throw new Error(
      `pyarrow venv: ${name} failed: ${cmd} ${args.join(' ')}\n${res.out.trim().split('\n').slice(-15).join('\n')}\n` +
        '(set AGP_SKIP_PYARROW=1 to skip the tests that need pyarrow)',
    );
  }
  return res.out;
}

/**
 * Creates (once) the venv with pyarrow and returns its python. Built in a temporary directory
 * and renamed into place, so concurrent test runs never see a half-installed venv; a stamp file
 * records the installed version.
 * @throws Error naming the failed step and the tail of its output.
 */
export function ensurePyarrowVenv(): string {
  const venv = path.join(ROOT, '.cache', 'pyarrow-venv');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.agp-pyarrow');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === PYARROW_VERSION) return python;
  const tmp = `${venv}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true });
  try {
    step(`creating ${tmp}`, 'python3', ['-m', 'venv', tmp]);
    const py = path.join(tmp, 'bin', 'python');
    step(`installing pyarrow==${PYARROW_VERSION}`, py, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--quiet',
      `pyarrow==${PYARROW_VERSION}`,
    ]);
    const got = step('checking that pyarrow imports', py, [
      '-c',
      'import pyarrow; print(pyarrow.__version__)',
    ]).trim();
    if (got !== PYARROW_VERSION) throw new Error(`pyarrow venv: got pyarrow ${got}`);
    fs.writeFileSync(path.join(tmp, '.agp-pyarrow'), PYARROW_VERSION);
    fs.rmSync(venv, { recursive: true, force: true });
    fs.renameSync(tmp, venv);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return python;
}

/** Runs a Python script with the venv's python; returns its standard output. */
export function runPython(python: string, script: string, args: readonly string[]): string {
  return step(`running ${path.basename(script)}`, python, [script, ...args]);
}
