import * as tf from '@tensorflow/tfjs-core';

/*
 * Direct calls of TensorFlow ops on the `tensorflow` backend (tfjs-node), for the few ops of the
 * eager training step where tfjs' kernels are far from the native op. (The default step on
 * `tensorflow` is one graph run, graph-backprop.ts; these serve AGP_TF_STEP=eager.) Measured on this machine
 * (2 cores, µs per call, median): ReluGrad 91 vs 147 (Sign + Mul) at [128,512]; BiasAddGrad 11 vs 37
 * (Sum over axis 0), 175 vs 384 at [2048,512]; BiasAdd + Relu 38 vs 53 (Add + Relu). The ops
 * run through tfjs-node's own NodeJSKernelBackend.executeSingleOutput, which registers the
 * outputs with the tfjs engine, so tf.tidy and tf.memory see them like any other tensor.
 *
 * Not used, on purpose: TensorFlow's plain MatMul op. It costs 12–60 µs on the step's small
 * products where BatchMatMulV2 costs 90–190 µs (2026-11-26, batch 128: [128,64]·[64,16] 14 vs
 * 94 µs, [128,256]·[256,1] 12 vs 102 µs; the step's 20 products 3.6 vs 4.6 ms at full width, 1.5
 * vs 2.5 ms at half width), which would make the step's cost follow AGP's widths much more
 * closely. But training runs that call it through executeSingleOutput abort under
 * `node --cpu-prof` with glibc heap errors ("corrupted size vs. prev_size", "double free or
 * corruption (out)", "free(): invalid pointer"): seen first with MatMul on the [B, 13] dense
 * input only, and on 2026-11-26 with MatMul on every product except that one, with oneDNN on
 * and with TF_ENABLE_ONEDNN_OPTS=0. Runs on BatchMatMulV2 with oneDNN off abort the same way,
 * those with oneDNN on (the default) finish: see docs/tensorflow-backend.md. Until the cause is
 * understood MatMul stays out.
 */

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The part of tfjs-node's backend these calls use. */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
}

function isNative(backend: unknown): backend is NativeBackend {
  const b = backend as Partial<NativeBackend> | null;
  return typeof b?.executeSingleOutput === 'function' && typeof b.binding === 'object';
}

/** TensorFlow's op caller when the active backend is tfjs-node, else undefined. */
export function nativeBackend(): NativeBackend | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const backend = tf.backend();
  return isNative(backend) ? backend : undefined;
}

function floatAttr(nb: NativeBackend): OpAttr {
  return { name: 'T', type: nb.binding.TF_ATTR_TYPE, value: nb.binding.TF_FLOAT };
}

/** x + bias broadcast over rows, then optionally ReLU: [B, n], [n] → [B, n]. */
export function nativeBiasAct(
  nb: NativeBackend,
  x: tf.Tensor2D,
  bias: tf.Tensor1D,
  relu: boolean,
): tf.Tensor2D {
  const z = nb.executeSingleOutput('BiasAdd', [floatAttr(nb)], [x, bias]) as tf.Tensor2D;
  if (!relu) return z;
  const y = nb.executeSingleOutput('Relu', [floatAttr(nb)], [z]) as tf.Tensor2D;
  z.dispose();
  return y;
}

/** ReLU's gradient: dy where features > 0, else 0. */
export function nativeReluGrad(nb: NativeBackend, dy: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  return nb.executeSingleOutput('ReluGrad', [floatAttr(nb)], [dy, y]) as tf.Tensor2D;
}

/** The bias gradient: column sums of dz [B, n] → [n]. */
export function nativeBiasGrad(nb: NativeBackend, dz: tf.Tensor2D): tf.Tensor1D {
  return nb.executeSingleOutput('BiasAddGrad', [floatAttr(nb)], [dz]) as tf.Tensor1D;
}
