import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/model/backend';

/**
 * TensorFlow's own SavedModel loader (tfjs-node's `tf.node.loadSavedModel`), for the tests that
 * check an export by loading it the way TensorFlow would. tfjs-node is installed by
 * `npm run setup:tensorflow`, not as a dependency, so it is imported by name at run time.
 */
export interface SavedModelHandle {
  predict(inputs: Record<string, tf.Tensor>): tf.Tensor | Record<string, tf.Tensor>;
  dispose(): void;
}

export type LoadSavedModel = (
  dir: string,
  tags: string[],
  signature: string,
) => Promise<SavedModelHandle>;

/** The loader on the tensorflow backend, or null when tfjs-node is not installed. */
export async function savedModelLoader(): Promise<LoadSavedModel | null> {
  const ok = await initBackend('tensorflow').then(
    () => true,
    () => false,
  );
  if (!ok) return null;
  const tfnode = (await import('@tensorflow/tfjs-node' as string)) as {
    node: { loadSavedModel: LoadSavedModel };
  };
  return (dir, tags, signature) => tfnode.node.loadSavedModel(dir, tags, signature);
}

/** The one output of a predict call (tfjs-node returns a map when outputs are named). */
export function onlyOutput(out: tf.Tensor | Record<string, tf.Tensor>): tf.Tensor {
  if (out instanceof tf.Tensor) return out;
  const values = Object.values(out);
  if (values.length !== 1) throw new Error(`expected one output, got ${values.length}`);
  return values[0] as tf.Tensor;
}
