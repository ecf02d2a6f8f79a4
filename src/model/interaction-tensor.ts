import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];
type GradSave = (tensors: Saved) => void;

/**
 * Index tables of the strictly-lower triangle of an n×n matrix (n = F + 1), row-major:
 * `lower[k]` is the flat position of pair k (i > j, ordered by i then j, as in the DLRM
 * reference); `symmetric[i·n + j]` is the pair index of (max(i,j), min(i,j)) for i ≠ j and
 * the extra zero column P on the diagonal.
 */
function triangleIndices(n: number): { lower: Int32Array; symmetric: Int32Array } {
  const pairs = (n * (n - 1)) / 2;
  const lower = new Int32Array(pairs);
  const pairOf = new Int32Array(n * n).fill(pairs);
  let k = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      lower[k] = i * n + j;
      pairOf[i * n + j] = k;
      pairOf[j * n + i] = k;
      k++;
    }
  }
  return { lower, symmetric: pairOf };
}

const indexCache = new Map<number, ReturnType<typeof triangleIndices>>();

function indices(n: number): ReturnType<typeof triangleIndices> {
  let found = indexCache.get(n);
  if (found === undefined) {
    found = triangleIndices(n);
    indexCache.set(n, found);
  }
  return found;
}

/*
 * Forward: Z = [bottom; embeddings] ([B, n, D]), G = Z·Zᵀ, keep the strictly-lower triangle.
 * Backward, written by hand so it needs no scatter (tfjs' gather gradient) and no transpose
 * flags: with dSym the symmetric matrix holding dLower off the diagonal, dZ = dSym·Z.
 */
const interact = tf.customGrad(((bottomOut: tf.Tensor2D, slab: tf.Tensor3D, save: GradSave) => {
  const [batch, dim] = bottomOut.shape;
  const n = slab.shape[1] + 1;
  const { lower, symmetric } = indices(n);
  const z = tf.concat([tf.reshape(bottomOut, [batch, 1, dim]), slab], 1);
  const gram = tf.matMul(z, tf.transpose(z, [0, 2, 1]));
  const pairs = tf.gather(tf.reshape(gram, [batch, n * n]), tf.tensor1d(lower, 'int32'), 1);
  save([z]);
  return {
    value: tf.concat([bottomOut, pairs], 1),
    gradFunc: (dy: tf.Tensor2D, saved: Saved) => {
      const sz = saved[0] as tf.Tensor3D;
      const dBottomDirect = tf.slice(dy, [0, 0], [batch, dim]);
      const dPairs = tf.slice(dy, [0, dim], [batch, lower.length]);
      const padded = tf.pad(dPairs, [
        [0, 0],
        [0, 1],
      ]);
      const dSym = tf.reshape(tf.gather(padded, tf.tensor1d(symmetric, 'int32'), 1), [batch, n, n]);
      const dz = tf.matMul(dSym, sz);
      const dBottom = tf.add(
        dBottomDirect,
        tf.reshape(tf.slice(dz, [0, 0, 0], [batch, 1, dim]), [batch, dim]),
      );
      const dSlab = tf.slice(dz, [0, 1, 0], [batch, n - 1, dim]);
      return [dBottom, dSlab];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
  bottomOut: tf.Tensor2D,
  slab: tf.Tensor3D,
) => tf.Tensor2D;

/** The dot interaction in tensor ops, used on the tensorflow backend (see interactionArch). */
export function interactionTensor(bottomOut: tf.Tensor2D, slab: tf.Tensor3D): tf.Tensor2D {
  return interact(bottomOut, slab);
}
