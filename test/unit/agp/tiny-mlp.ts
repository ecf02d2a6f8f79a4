import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { DenseTowers, Mlp, TowerSlots } from '../../../src/model/params';
import type { Rng } from '../../../src/rng';

/** Test helpers: random towers with two slots per tensor (Adam-like) and a plain MLP forward. */

/** The cpu backend, or wasm when AGP_BACKEND=wasm (the surgery must behave the same on both). */
export async function useBackend(): Promise<void> {
  const name = process.env['AGP_BACKEND'] === 'wasm' ? 'wasm' : 'cpu';
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(name);
  await tf.ready();
}

function randn(rng: Rng, shape: [number, number] | [number]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
    'float32',
  );
}

/** bottom 5→6→4→3 (hidden bottom.0 = 6, bottom.1 = 4), top 7→5→1 (hidden top.0 = 5). */
export function tinyModel(rng: Rng): { towers: DenseTowers; slots: TowerSlots } {
  const mlp = (dims: number[]): Mlp =>
    dims.slice(1).map((out, i) => ({
      w: randn(rng, [dims[i] ?? 0, out]) as tf.Tensor2D,
      b: randn(rng, [out]) as tf.Tensor1D,
    }));
  const towers = { bottom: mlp([5, 6, 4, 3]), top: mlp([7, 5, 1]) };
  const slotsOf = (m: Mlp) =>
    m.map((l) => ({
      w: [0, 1].map(() => randn(rng, l.w.shape) as tf.Tensor2D),
      b: [0, 1].map(() => randn(rng, l.b.shape) as tf.Tensor1D),
    }));
  return { towers, slots: { bottom: slotsOf(towers.bottom), top: slotsOf(towers.top) } };
}

/** ReLU between layers, none after the last: [B, in] → [B, out] as a flat array. */
export function forward(mlp: Mlp, x: tf.Tensor2D): Float32Array {
  const y = tf.tidy(() =>
    mlp.reduce<tf.Tensor2D>((h, l, i) => {
      const z = tf.add(tf.matMul(h, l.w), l.b) as tf.Tensor2D;
      return i < mlp.length - 1 ? tf.relu(z) : z;
    }, x),
  );
  const out = Float32Array.from(y.dataSync());
  y.dispose();
  return out;
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function disposeModel(towers: DenseTowers, slots: TowerSlots): void {
  for (const t of ['bottom', 'top'] as const) {
    towers[t].forEach((l) => (l.w.dispose(), l.b.dispose()));
    slots[t].forEach((s) => (s.w.forEach((x) => x.dispose()), s.b.forEach((x) => x.dispose())));
  }
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-5,
): void {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(`element ${i}: ${a} is not close to ${e}`);
    }
  }
}
