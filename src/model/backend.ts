import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ConfigError, InfraError } from '../errors';

/** The tfjs backends the model code runs on; it uses only ops that all three implement. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let active: BackendName | undefined;

/**
 * Registers `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` (TensorFlow's native kernels)
 * when one is installed. They are optional, so they are loaded by a computed name at run time.
 */
async function registerTensorflow(): Promise<boolean> {
  // TensorFlow's INFO lines (one per graph session loaded, see graph-session.ts) are noise in a
  // training log; warnings and errors still show. Read by TensorFlow once, at its first log line.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
  // One inter-op thread unless the user says otherwise, read by TensorFlow when it starts. The
  // training step is one graph whose ops form a chain (each op still splits its work over the
  // intra-op threads, one per core by default); TensorFlow's default of one inter-op thread per
  // core only adds threads that compete with them. On 2 cores, batch 128, a step took 4.7 ms
  // with one and 5.7-6.2 ms with two (bench:profile, alternate runs on a shared machine).
  process.env['TF_NUM_INTEROP_THREADS'] ??= '1';
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* webpackIgnore: true */ pkg);
      if (tf.findBackendFactory('tensorflow') !== null) return true;
    } catch {
      // Not installed or its native library failed to load: try the next one.
    }
  }
  return false;
}

async function tryBackend(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow' && !(await registerTensorflow())) return false;
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/**
 * Selects and initialises the tfjs backend. `AGP_BACKEND` (tensorflow | wasm | cpu) overrides
 * `preferred`; without either, the first that loads of tensorflow → wasm → cpu is used. The
 * choice is logged once to stderr.
 * @returns the name of the active backend.
 * @throws ConfigError for an unknown name, InfraError when an explicitly requested backend fails.
 */
export async function initBackend(preferred?: BackendName): Promise<BackendName> {
  const fromEnv = process.env['AGP_BACKEND'];
  if (fromEnv !== undefined && fromEnv !== '' && !BACKENDS.includes(fromEnv as BackendName)) {
    throw new ConfigError(`AGP_BACKEND: unknown backend '${fromEnv}' (use ${BACKENDS.join(', ')})`);
  }
  const wanted = fromEnv !== undefined && fromEnv !== '' ? (fromEnv as BackendName) : preferred;
  const order = wanted === undefined ? BACKENDS : [wanted];
  for (const name of order) {
    if ((active === name && tf.getBackend() === name) || (await tryBackend(name))) {
      await tf.ready();
      if (active !== name) process.stderr.write(`agp: tfjs backend '${name}'\n`);
      active = name;
      return name;
    }
  }
  const source = fromEnv !== undefined && fromEnv !== '' ? 'AGP_BACKEND' : 'initBackend';
  throw new InfraError(
    `${source}: the tfjs backend '${String(wanted)}' could not be initialised` +
      (wanted === 'tensorflow' ? ' (is @tensorflow/tfjs-node installed and built?)' : ''),
    { retriable: false },
  );
}

/**
 * The tfjs backend this process computes on right now, as manifests record it: the one
 * {@link initBackend} selected, or tfjs' own default (`cpu`) when nothing selected one, so a
 * version trained by a process that forgot to initialise says so instead of copying its
 * parent's backend.
 */
export function activeBackend(): string {
  // Before the first op no backend is chosen yet; tf.backend() picks the one ops would use.
  tf.backend();
  return tf.getBackend();
}
