import * as tf from '@tensorflow/tfjs-core';
import { ModelConfig } from '../../../schemas/model-config';
import type { ColumnarBatch } from '../../../src/data/batch';
import { initBackend, type BackendName } from '../../../src/model/backend';
import { createRng, type Rng } from '../../../src/rng';

/** A tiny DLRM: 3 dense, 3 tables, dim 4, bottom 3-8-6-4, top 10-8-5-1. */
export function tinyConfig(overrides: Record<string, unknown> = {}): ModelConfig {
  return ModelConfig.parse({
    numDense: 3,
    tableSizes: [10, 7, 5],
    embeddingDim: 4,
    bottom: [8, 6, 4],
    top: [8, 5, 1],
    batchSize: 8,
    seed: 7,
    ...overrides,
  });
}

/** Random step inputs from `rng`: dense [B, numDense] ~ N(0, 1), slab [B, F, D] ~ N(0, 0.5²). */
export function randomDenseAndSlab(
  rng: Rng,
  shape: { B: number; numDense: number; F: number; D: number },
): { dense: tf.Tensor2D; slab: tf.Tensor3D } {
  const { B, numDense, F, D } = shape;
  return {
    dense: tf.tensor2d(
      Float32Array.from({ length: B * numDense }, () => rng.normal()),
      [B, numDense],
    ),
    slab: tf.tensor3d(
      Float32Array.from({ length: B * F * D }, () => rng.normal() * 0.5),
      [B, F, D],
    ),
  };
}

/** A random batch for `config` from a fixed seed. */
export function randomBatch(config: ModelConfig, size: number, seed: number): ColumnarBatch {
  const rng = createRng(seed);
  const F = config.tableSizes.length;
  return {
    size,
    numDense: config.numDense,
    numSparse: F,
    dense: Float32Array.from({ length: size * config.numDense }, () => rng.normal()),
    sparse: Int32Array.from({ length: size * F }, (_, k) =>
      rng.int(config.tableSizes[k % F] as number),
    ),
    labels: Float32Array.from({ length: size }, () => (rng.next() < 0.4 ? 1 : 0)),
  };
}

/** Asserts |a − b| <= atol + rtol·|b| elementwise, naming the first offending index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-4,
  what = 'values',
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} ≠ ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}[${i}]: ${a} is not close to ${e}`);
    }
  }
}

/**
 * Switches to `backend` and returns true; when it cannot be loaded (the optional tfjs-node
 * binding is missing), marks the test skipped and returns false.
 */
export async function useBackendOrSkip(
  t: { skip(message: string): void },
  backend: BackendName = 'tensorflow',
): Promise<boolean> {
  const ok = await initBackend(backend).then(
    () => true,
    () => false,
  );
  if (!ok)
    t.skip(`the ${backend} backend is not available (@tensorflow/tfjs-node is not installed)`);
  return ok;
}
