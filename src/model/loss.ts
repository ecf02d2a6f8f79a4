import * as tf from '@tensorflow/tfjs-core';

type GradSave = (tensors: tf.Tensor[]) => void;

/**
 * Binary cross-entropy with logits, averaged over the batch, in the stable form
 * max(x, 0) − x·y + log(1 + e^−|x|). logits, labels: [B, 1] → scalar. The gradient with respect
 * to the logits is (σ(x) − y)/B; labels get none.
 */
export function bceWithLogits(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  const loss = tf.customGrad(((x: tf.Tensor2D, save: GradSave) => {
    save([x]);
    const perRow = tf.add(
      tf.sub(tf.relu(x), tf.mul(x, labels)),
      tf.log1p(tf.exp(tf.neg(tf.abs(x)))),
    );
    return {
      value: tf.mean(perRow),
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => [
        tf.mul(tf.sub(tf.sigmoid(saved[0] as tf.Tensor2D), labels), tf.div(dy, x.shape[0])),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Scalar;
  return loss(logits);
}
