import type * as tf from '@tensorflow/tfjs-core';
import { mlpForward, type MlpProbes } from './mlp';
import type { Mlp } from './params';

/**
 * DLRM's dense arch: the bottom MLP, ReLU after every layer (as in the DLRM reference).
 * dense: [B, numDense] → [B, D], D = embedding dim.
 */
export function denseArch(bottom: Mlp, dense: tf.Tensor2D, probes?: MlpProbes): tf.Tensor2D {
  return mlpForward(bottom, dense, 'relu', probes);
}
