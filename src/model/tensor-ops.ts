import * as tf from '@tensorflow/tfjs-core';
import { nativeBackend, nativeBiasAct, nativeBiasGrad, nativeReluGrad } from './tf-native';

/*
 * The few tensor primitives of the hand-written training step, each in the form that is fastest
 * on the active backend. Why two forms: on `tensorflow` every tfjs op is at least one native op
 * call (~10 µs of fixed cost), and tfjs' matMul wraps the kernel in three Reshapes (each one more
 * native op plus a shape upload), while BatchMatMulV2 takes 2-D operands as they are and does
 * transposes for free. On wasm and cpu reshapes are free, but a matMul with a transpose flag is
 * about ten times slower than transposing first (issue 5 item 4).
 */

/** True when TensorFlow's native kernels run the ops (tfjs-node). */
export function onTensorflow(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/** a·b with optional transposes, 2-D: [m, k]·[k, n] → [m, n]. */
export function matMul2d(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA = false,
  transposeB = false,
): tf.Tensor2D {
  if (onTensorflow()) {
    return tf
      .engine()
      .runKernel('BatchMatMul', { a, b }, { transposeA, transposeB }) as tf.Tensor2D;
  }
  return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
}

/** Batched a·b (no transposes) of 3-D tensors, [B, m, k]·[B, k, n] → [B, m, n]. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (onTensorflow()) {
    return tf
      .engine()
      .runKernel('BatchMatMul', { a, b }, { transposeA: false, transposeB: false }) as tf.Tensor3D;
  }
  return tf.matMul(a, b);
}

/** a·aᵀ per batch item: [B, n, k] → [B, n, n] (transpose flag where it is free). */
export function gramMatrix(a: tf.Tensor3D): tf.Tensor3D {
  if (onTensorflow()) {
    return tf
      .engine()
      .runKernel(
        'BatchMatMul',
        { a, b: a },
        { transposeA: false, transposeB: true },
      ) as tf.Tensor3D;
  }
  return tf.matMul(a, tf.transpose(a, [0, 2, 1]));
}

/**
 * One fully connected layer forward, y = act(x·w + b): x [B, in], w [in, out], b [out].
 * On wasm and cpu one fused kernel (tf.fused.matMul would refuse to fuse ReLU while a gradient
 * is being recorded); on tensorflow, whose "fused" kernel is itself matMul + add + relu through
 * tfjs ops with their reshapes, the three native ops directly.
 */
export function denseForward(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  relu: boolean,
): tf.Tensor2D {
  const nb = nativeBackend();
  if (nb !== undefined) return nativeBiasAct(nb, matMul2d(x, w), b, relu);
  if (onTensorflow()) {
    const z: tf.Tensor2D = tf.add(matMul2d(x, w), b);
    return relu ? tf.relu(z) : z;
  }
  const [batch, inWidth] = x.shape;
  const outWidth = w.shape[1];
  const y3 = tf
    .engine()
    .runKernel(
      '_FusedMatMul',
      { a: tf.reshape(x, [1, batch, inWidth]), b: tf.reshape(w, [1, inWidth, outWidth]), bias: b },
      { transposeA: false, transposeB: false, activation: relu ? 'relu' : 'linear' },
    ) as tf.Tensor3D;
  return tf.reshape(y3, [batch, outWidth]);
}

/**
 * ReLU's backward from its output: dy where y > 0, else 0. y ≥ 0 after a ReLU, so sign(y) is the
 * 0/1 mask in one kernel (tfjs' Step is five native ops on tensorflow).
 */
export function reluBackward(dy: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  const nb = nativeBackend();
  return nb !== undefined ? nativeReluGrad(nb, dy, y) : tf.mul(dy, tf.sign(y));
}

/** A bias gradient: the column sums of dz [B, n] → [n]. */
export function biasGrad(dz: tf.Tensor2D): tf.Tensor1D {
  const nb = nativeBackend();
  return nb !== undefined ? nativeBiasGrad(nb, dz) : tf.sum(dz, 0);
}
