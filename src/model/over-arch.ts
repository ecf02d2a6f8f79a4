import type * as tf from '@tensorflow/tfjs-core';
import { mlpForward, type MlpProbes } from './mlp';
import type { Mlp } from './params';

/**
 * DLRM's over arch: the top MLP, ReLU between layers and none on the output.
 * x: [B, D + (F+1)F/2] → logits [B, 1].
 */
export function overArch(top: Mlp, x: tf.Tensor2D, probes?: MlpProbes): tf.Tensor2D {
  return mlpForward(top, x, 'linear', probes);
}
