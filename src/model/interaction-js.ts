import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];

/*
 * The dot interaction in plain JS loops, used on the wasm and cpu backends. Why: the strictly-lower triangle needs a gather forward and a scatter (or a
 * gather into a padded matrix) backward; on wasm GatherV2 alone took ~10–18 ms per step for these
 * shapes, more than the whole interaction costs in JS (B·P·D multiply-adds forward, twice that
 * backward: ~2.2M for the reference config). The two inputs are read once (the slab was built in
 * JS a moment ago) and the results uploaded once; on the CPU backends that is a memcpy each way.
 */

/** Z = [bottom; embeddings] per row: [B, n, D] with n = F + 1. */
export function stack(
  bottom: Float32Array,
  slab: Float32Array,
  B: number,
  F: number,
  D: number,
): Float32Array {
  const n = F + 1;
  const z = new Float32Array(B * n * D);
  for (let b = 0; b < B; b++) {
    z.set(bottom.subarray(b * D, (b + 1) * D), b * n * D);
    z.set(slab.subarray(b * F * D, (b + 1) * F * D), (b * n + 1) * D);
  }
  return z;
}

/** out[b] = [bottom_b, ⟨z_i, z_j⟩ for i = 1..F, j < i]: [B, D + P], P = n(n−1)/2. */
export function interactionForwardJs(
  z: Float32Array,
  B: number,
  n: number,
  D: number,
): Float32Array {
  const P = (n * (n - 1)) / 2;
  const width = D + P;
  const out = new Float32Array(B * width);
  for (let b = 0; b < B; b++) {
    const zb = b * n * D;
    const ob = b * width;
    for (let d = 0; d < D; d++) out[ob + d] = z[zb + d] as number;
    let k = ob + D;
    for (let i = 1; i < n; i++) {
      const zi = zb + i * D;
      for (let j = 0; j < i; j++) {
        const zj = zb + j * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += (z[zi + d] as number) * (z[zj + d] as number);
        out[k++] = dot;
      }
    }
  }
  return out;
}

/** dZ from dOut: the bottom part directly, and for pair (i, j): dz_i += g·z_j, dz_j += g·z_i. */
export function interactionBackwardJs(
  z: Float32Array,
  dy: Float32Array,
  B: number,
  n: number,
  D: number,
): Float32Array {
  const P = (n * (n - 1)) / 2;
  const width = D + P;
  const dz = new Float32Array(B * n * D);
  for (let b = 0; b < B; b++) {
    const zb = b * n * D;
    const yb = b * width;
    for (let d = 0; d < D; d++) dz[zb + d] = dy[yb + d] as number;
    let k = yb + D;
    for (let i = 1; i < n; i++) {
      const zi = zb + i * D;
      for (let j = 0; j < i; j++) {
        const g = dy[k++] as number;
        if (g === 0) continue;
        const zj = zb + j * D;
        for (let d = 0; d < D; d++) {
          dz[zi + d] = (dz[zi + d] as number) + g * (z[zj + d] as number);
          dz[zj + d] = (dz[zj + d] as number) + g * (z[zi + d] as number);
        }
      }
    }
  }
  return dz;
}

/** Splits dZ [B, n, D] into dBottom [B, D] and dSlab [B, F, D]. */
function split(dz: Float32Array, B: number, F: number, D: number): [Float32Array, Float32Array] {
  const n = F + 1;
  const dBottom = new Float32Array(B * D);
  const dSlab = new Float32Array(B * F * D);
  for (let b = 0; b < B; b++) {
    dBottom.set(dz.subarray(b * n * D, (b * n + 1) * D), b * D);
    dSlab.set(dz.subarray((b * n + 1) * D, (b + 1) * n * D), b * F * D);
  }
  return [dBottom, dSlab];
}

const interact = tf.customGrad(((bottomOut: tf.Tensor2D, slab: tf.Tensor3D) => {
  const [B, D] = bottomOut.shape;
  const F = slab.shape[1];
  const n = F + 1;
  const z = stack(bottomOut.dataSync() as Float32Array, slab.dataSync() as Float32Array, B, F, D);
  return {
    value: tf.tensor2d(interactionForwardJs(z, B, n, D), [B, D + (n * (n - 1)) / 2]),
    gradFunc: (dy: tf.Tensor2D, _saved: Saved) => {
      const [dBottom, dSlab] = split(
        interactionBackwardJs(z, dy.dataSync() as Float32Array, B, n, D),
        B,
        F,
        D,
      );
      return [tf.tensor2d(dBottom, [B, D]), tf.tensor3d(dSlab, [B, F, D])];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
  bottomOut: tf.Tensor2D,
  slab: tf.Tensor3D,
) => tf.Tensor2D;

/** The dot interaction computed in JS (see interactionArch for shapes). */
export function interactionJs(bottomOut: tf.Tensor2D, slab: tf.Tensor3D): tf.Tensor2D {
  return interact(bottomOut, slab);
}
