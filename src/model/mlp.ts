import * as tf from '@tensorflow/tfjs-core';
import { denseLayer } from './dense-layer';
import type { Mlp } from './params';

/**
 * Probes for first-order Taylor importance. `probes[i]` is a zero tensor [B, width_i] added to
 * the output of hidden layer i, so dLoss/dprobe_i = dLoss/dactivation_i; the activation itself
 * (before the probe) is kept (tf.keep) in `activations[i]` and must be disposed by the caller.
 */
export interface MlpProbes {
  readonly probes: readonly tf.Tensor2D[];
  readonly activations: tf.Tensor2D[];
}

/**
 * Runs an MLP at the widths its tensors currently have. x: [B, in] → [B, out of the last layer].
 * ReLU after every layer, except the last one when `finalActivation` is 'linear'.
 */
export function mlpForward(
  layers: Mlp,
  x: tf.Tensor2D,
  finalActivation: 'relu' | 'linear',
  probes?: MlpProbes,
): tf.Tensor2D {
  let h = x;
  layers.forEach((layer, i) => {
    const last = i === layers.length - 1;
    h = denseLayer(h, layer.w, layer.b, last ? finalActivation : 'relu');
    const probe = probes?.probes[i];
    if (!last && probes !== undefined && probe !== undefined) {
      probes.activations.push(tf.keep(h));
      h = tf.add(h, probe);
    }
  });
  return h;
}
