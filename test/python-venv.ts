/**
 * A Python venv under .cache for the tests' and benches' Python side (pyarrow writers, the
 * LightGBM baseline of bench:byod): created once with `python3 -m venv` and pip from the Python
 * package index, in a temporary directory renamed into place, so concurrent runs never see a
 * half-installed venv; a stamp file records what was installed, and a venv whose stamp differs
 * is built again. Scripts run as `<venv>/bin/python …` (never through the venv's bin/ scripts,
 * whose shebangs hold the path the venv was built at).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** What one venv holds. */
export interface VenvSpec {
  /** Directory name under .cache, e.g. 'byod-venv'. */
  name: string;
  /** pip requirements, pinned. */
  packages: readonly string[];
  /** Python code that must run once installed (imports), printing what the stamp checks. */
  check: string;
  /** Stamp file name in the venv, and its content: what was installed. */
  stamp: { file: string; content: string };
  /** What a failure message adds (how to skip what needs the venv). */
  hint: string;
}

function step(spec: VenvSpec, name: string, cmd: string, args: readonly string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) {
    const out = `${res.error ? `${res.error.message}\n` : ''}${res.stdout ?? ''}${res.stderr ?? ''}`;
    throw new Error(
      `${spec.name}: ${name} failed: ${cmd} ${args.join(' ')}\n${out.trim().split('\n').slice(-15).join('\n')}\n${spec.hint}`,
    );
  }
  return res.stdout;
}

/**
 * Creates (once) the venv `spec` describes and returns its python. `onCheck` sees the output of
 * `spec.check` on a fresh venv and may throw to reject it (e.g. a wrong version).
 * @throws Error naming the failed step and the tail of its output.
 */
export function ensureVenv(spec: VenvSpec, onCheck?: (output: string) => void): string {
  const venv = path.join(ROOT, '.cache', spec.name);
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, spec.stamp.file);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === spec.stamp.content) return python;
  const tmp = `${venv}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true });
  try {
    step(spec, `creating ${tmp}`, 'python3', ['-m', 'venv', tmp]);
    const py = path.join(tmp, 'bin', 'python');
    step(spec, `installing ${spec.packages.join(' ')}`, py, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--quiet',
      ...spec.packages,
    ]);
    onCheck?.(step(spec, 'checking the imports', py, ['-c', spec.check]));
    fs.writeFileSync(path.join(tmp, spec.stamp.file), spec.stamp.content);
    fs.rmSync(venv, { recursive: true, force: true });
    fs.renameSync(tmp, venv);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return python;
}

/** Runs a Python script with a venv's python; returns its standard output. */
export function runVenvPython(
  python: string,
  script: string,
  args: readonly string[],
  what = path.basename(script),
): string {
  const res = spawnSync(python, [script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) {
    const out = `${res.error ? `${res.error.message}\n` : ''}${res.stdout ?? ''}${res.stderr ?? ''}`;
    throw new Error(`${what} failed:\n${out.trim().split('\n').slice(-20).join('\n')}`);
  }
  return res.stdout;
}
