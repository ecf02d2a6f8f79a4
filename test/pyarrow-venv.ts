/**
 * The tests' Python environment for writing Parquet and Arrow files the way pyarrow users do: a
 * venv under .cache/pyarrow-venv with pyarrow from the Python package index, built by
 * test/python-venv.ts. Building it needs the network once; when it cannot be built the tests
 * that need it fail with the step and its output, unless AGP_SKIP_PYARROW=1 says to skip them
 * (e.g. an offline machine), which the test runner then reports as skipped.
 */
import path from 'node:path';
import { ensureVenv, runVenvPython } from './python-venv';

/** The pyarrow the files are written with (newest on the package index when pinned). */
export const PYARROW_VERSION = '26.0.1';

/** Why pyarrow tests are skipped, or undefined when they must run. */
export function pyarrowSkipReason(): string | undefined {
  return process.env['AGP_SKIP_PYARROW'] === '1'
    ? 'AGP_SKIP_PYARROW=1: tests that write files with pyarrow are skipped'
    : undefined;
}

/**
 * Creates (once) the venv with pyarrow and returns its python (test/python-venv.ts).
 * @throws Error naming the failed step and the tail of its output.
 */
export function ensurePyarrowVenv(): string {
  return ensureVenv(
    {
      name: 'pyarrow-venv',
      packages: [`pyarrow==${PYARROW_VERSION}`],
      check: 'import pyarrow; print(pyarrow.__version__)',
      stamp: { file: '.agp-pyarrow', content: PYARROW_VERSION },
      hint: '(set AGP_SKIP_PYARROW=1 to skip the tests that need pyarrow)',
    },
    (out) => {
      if (out.trim() !== PYARROW_VERSION)
        throw new Error(`pyarrow venv: got pyarrow ${out.trim()}`);
    },
  );
}

/** Runs a Python script with the venv's python; returns its standard output. */
export function runPython(python: string, script: string, args: readonly string[]): string {
  return runVenvPython(python, script, args, `pyarrow venv: running ${path.basename(script)}`);
}
