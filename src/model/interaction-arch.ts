import * as tf from '@tensorflow/tfjs-core';
import { interactionJs } from './interaction-js';
import { interactionTensor } from './interaction-tensor';

/**
 * DLRM's interaction arch (dot interaction). bottomOut: [B, D], slab: [B, F, D] →
 * [B, D + (F+1)F/2]: the bottom output followed by the dot products of every pair of the F+1
 * vectors (strictly-lower triangle, row-major: (1,0), (2,0), (2,1), …, as in the DLRM reference).
 *
 * Two implementations with the same results: TensorFlow's native kernels do the batched Gram
 * matrix and gathers fastest; on wasm and cpu those kernels cost more than doing the ~2M
 * multiply-adds in JS (measured: 9.6 vs 23 ms on tensorflow, 48 vs 25 ms on wasm, for B = 128,
 * F = 26, D = 16 forward + backward on a loaded machine).
 */
export function interactionArch(bottomOut: tf.Tensor2D, slab: tf.Tensor3D): tf.Tensor2D {
  return tf.getBackend() === 'tensorflow'
    ? interactionTensor(bottomOut, slab)
    : interactionJs(bottomOut, slab);
}
