import * as tf from '@tensorflow/tfjs-core';

/** Activation after a dense layer. */
export type Activation = 'relu' | 'linear';

type Saved = tf.Tensor[];
type GradSave = (tensors: Saved) => void;

/*
 * Why a custom gradient: tfjs' own matMul gradient multiplies with transpose flags, which on the
 * wasm backend is about ten times slower than transposing first and multiplying (issue 5 item 4).
 * The backward here uses explicit transposes and plain matMuls there (flags on the tensorflow
 * backend, where they cost nothing), and the forward is one fused matMul + bias + ReLU kernel.
 */
function makeDense(activation: Activation) {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: GradSave) => {
    // The kernel directly: tf.fused.matMul refuses to fuse ReLU while a gradient is being
    // recorded and falls back to matMul + a broadcast Add (slow on wasm) + Relu.
    const [batch, inWidth] = x.shape;
    const outWidth = w.shape[1];
    const y3 = tf.engine().runKernel(
      '_FusedMatMul',
      {
        a: tf.reshape(x, [1, batch, inWidth]),
        b: tf.reshape(w, [1, inWidth, outWidth]),
        bias: b,
      },
      { transposeA: false, transposeB: false, activation },
    ) as tf.Tensor3D;
    const y = tf.reshape(y3, [batch, outWidth]);
    save(activation === 'relu' ? [x, w, y] : [x, w]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: Saved) => {
        const [sx, sw, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D?];
        // ReLU's derivative from its output: 1 where y > 0 (step(0) = 0).
        const dz = sy === undefined ? dy : tf.mul(dy, tf.step(sy));
        // TensorFlow's native kernels take transpose flags for free; elsewhere transpose first.
        if (tf.getBackend() === 'tensorflow') {
          return [tf.matMul(dz, sw, false, true), tf.matMul(sx, dz, true, false), tf.sum(dz, 0)];
        }
        return [tf.matMul(dz, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dz), tf.sum(dz, 0)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    x: tf.Tensor2D,
    w: tf.Tensor2D,
    b: tf.Tensor1D,
  ) => tf.Tensor2D;
}

const reluDense = makeDense('relu');
const linearDense = makeDense('linear');

/**
 * One fully connected layer y = act(x·w + b) with a backward pass that is fast on wasm.
 * x: [B, in], w: [in, out], b: [out] → y: [B, out]. Widths come from the tensors.
 */
export function denseLayer(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  activation: Activation,
): tf.Tensor2D {
  return activation === 'relu' ? reluDense(x, w, b) : linearDense(x, w, b);
}
