import * as tf from '@tensorflow/tfjs-core';
import { interactionBackwardJs, interactionForwardJs, stack } from './interaction-js';
import { hiddenLayerName, type DenseTowers, type Mlp, type TowerName } from './params';
import {
  batchMatMul,
  biasGrad,
  denseForward,
  gramMatrix,
  matMul2d,
  onTensorflow,
  reluBackward,
} from './tensor-ops';

/*
 * The DLRM training step's forward and backward pass written out by hand. Why not tfjs'
 * autodiff: the architecture is fixed (MLP, dot interaction, MLP, BCE), and the tape, the
 * customGrad wrappers, the Identity/Reshape bookkeeping and the composite Step and BCE gradients
 * cost more than the kernels themselves at batch 128 (213 kernels per step before, ~75 now).
 * The loss and its gradient are computed in JS from the downloaded logits ([B] floats), which
 * costs no kernels at all. The results equal the autodiff of dlrmForward + bceWithLogits within
 * float tolerance (test/unit/model/backprop.test.ts).
 */

/** What one forward + backward pass yields. Tensors are owned by the caller. */
export interface BackpropResult {
  /** Mean BCE-with-logits loss of the batch. */
  loss: number;
  /** dLoss/dweights, shaped like the towers, multiplied by `gradScale`. */
  grads: DenseTowers;
  /** dLoss/dslab, [B, F, D] row-major, not scaled. */
  slabGrad: Float32Array;
  /** With `probe`: per hidden layer, the per-neuron batch mean of |a · dLoss/da|. */
  activationStats?: Record<string, Float32Array>;
  /** With `gradNorm`: the global L2 norm of the unscaled gradient (weights and slab). */
  gradNorm?: number;
  /** With `logits`: the forward pass's logits [B], before any update. */
  logits?: Float32Array;
}

/** What a fused SGD step yields: the updated weights instead of the gradients. */
export interface SgdStepResult {
  loss: number;
  /** weight − lr · dLoss/dweight, shaped like the towers; new tensors owned by the caller. */
  updated: DenseTowers;
  /** dLoss/dslab, [B, F, D] row-major, not scaled. */
  slabGrad: Float32Array;
  activationStats?: Record<string, Float32Array>;
  /** With `gradNorm`: the global L2 norm of the unscaled gradient (weights and slab). */
  gradNorm?: number;
  /** With `logits`: the forward pass's logits [B], before any update. */
  logits?: Float32Array;
}

/** Options of one pass. */
export interface PassOptions {
  /** Taylor activation statistics. */
  probe: boolean;
  /** Also compute the gradient's global L2 norm (the numerical guard). @default false */
  gradNorm?: boolean;
  /**
   * Also return the forward pass's logits: the recurring trainer scores a batch (progressive
   * validation) with the same forward it trains on instead of a second one. @default false
   */
  logits?: boolean;
}

/** Inputs of one pass: dense [B, numDense], slab [B, F, D] (gathered rows), labels [B]. */
export interface BackpropBatch {
  dense: tf.Tensor2D;
  slab: tf.Tensor3D;
  labels: Float32Array;
}

/** The hand-written forward/backward of DLRM; owns a few cached index tensors. */
export interface Backprop {
  /**
   * Forward and backward on one batch at the towers' current widths. `gradScale` multiplies
   * the dense gradients (plain SGD passes its learning rate so that its update is a single
   * subtraction); `probe` asks for Taylor activation statistics.
   */
  run(
    towers: DenseTowers,
    batch: BackpropBatch,
    opts: PassOptions & { gradScale: number },
  ): BackpropResult;
  /**
   * Forward, backward and the plain-SGD update of the dense weights in one call, where the
   * implementation can fuse them (the TensorFlow graph step); absent otherwise.
   */
  sgdStep?(
    towers: DenseTowers,
    batch: BackpropBatch,
    opts: PassOptions & { lr: number },
  ): SgdStepResult;
  /** Logits [B, 1], no gradients. */
  forward(towers: DenseTowers, dense: tf.Tensor2D, slab: tf.Tensor3D): tf.Tensor2D;
  /** Frees the cached index tensors. */
  dispose(): void;
}

/** What the interaction's backward needs from its forward. */
interface InteractionSaved {
  /** [B, n, D] on the tensor path; [B·n·D] JS floats on the JS path. */
  z: tf.Tensor3D | Float32Array;
}

/** Per-layer outputs of an MLP, ReLU after every layer unless `linearLast`. */
function mlpOutputs(layers: Mlp, x: tf.Tensor2D, linearLast: boolean): tf.Tensor2D[] {
  const ys: tf.Tensor2D[] = [];
  let h = x;
  layers.forEach((layer, i) => {
    h = denseForward(h, layer.w, layer.b, !(linearLast && i === layers.length - 1));
    ys.push(h);
  });
  return ys;
}

/** Creates the forward/backward of DLRM for a trainer (which disposes it). */
export function createBackprop(): Backprop {
  /** bottomOut [B, D], slab [B, F, D] → [B, D + P] and what the backward needs. */
  function interactionForward(
    bottomOut: tf.Tensor2D,
    slab: tf.Tensor3D,
  ): { out: tf.Tensor2D; saved: InteractionSaved } {
    const [B, D] = bottomOut.shape;
    const F = slab.shape[1];
    const n = F + 1;
    const P = (n * (n - 1)) / 2;
    // Z = [bottom; embeddings] assembled in JS: the slab was built in JS a moment ago, and a
    // concat of device tensors costs more than the copy (a reshape and a concat kernel).
    const zJs = stack(
      bottomOut.dataSync() as Float32Array,
      slab.dataSync() as Float32Array,
      B,
      F,
      D,
    );
    if (onTensorflow()) {
      // The Gram matrix on TensorFlow's kernels; its strictly-lower triangle picked in JS, which
      // is cheaper than TensorFlow's GatherV2 along axis 1 (~0.2 ms at B = 128, ~6 ms at 2048).
      const z = tf.tensor3d(zJs, [B, n, D]);
      const gram = gramMatrix(z).dataSync() as Float32Array;
      const out = new Float32Array(B * (D + P));
      for (let b = 0; b < B; b++) {
        const o = b * (D + P);
        out.set(zJs.subarray(b * n * D, b * n * D + D), o);
        const g = b * n * n;
        let k = o + D;
        for (let i = 1; i < n; i++) {
          const row = g + i * n;
          for (let j = 0; j < i; j++) out[k++] = gram[row + j] as number;
        }
      }
      return { out: tf.tensor2d(out, [B, D + P]), saved: { z } };
    }
    // wasm and cpu: JS loops beat their kernels for these shapes (see interaction-arch.ts).
    return { out: tf.tensor2d(interactionForwardJs(zJs, B, n, D), [B, D + P]), saved: { z: zJs } };
  }

  /** dOut [B, D + P] → dBottom [B, D] (tensor) and dSlab [B, F, D] (JS floats). */
  function interactionBackward(
    dOut: tf.Tensor2D,
    saved: InteractionSaved,
    F: number,
  ): { dBottom: tf.Tensor2D; dSlab: Float32Array } {
    const B = dOut.shape[0];
    const n = F + 1;
    const P = (n * (n - 1)) / 2;
    const D = dOut.shape[1] - P;
    const dy = dOut.dataSync() as Float32Array;
    let dz: Float32Array;
    if (saved.z instanceof Float32Array) {
      // Includes the bottom's pass-through part in row 0.
      dz = interactionBackwardJs(saved.z, dy, B, n, D);
    } else {
      // dZ = dSym·Z, dSym the symmetric [n, n] matrix of the pair gradients (zero diagonal),
      // built in JS (no scatter kernel, no transposes), then one batched matmul on TensorFlow.
      const sym = new Float32Array(B * n * n);
      for (let b = 0; b < B; b++) {
        const s = b * n * n;
        let k = b * (D + P) + D;
        for (let i = 1; i < n; i++) {
          for (let j = 0; j < i; j++) {
            const g = dy[k++] as number;
            sym[s + i * n + j] = g;
            sym[s + j * n + i] = g;
          }
        }
      }
      dz = batchMatMul(tf.tensor3d(sym, [B, n, n]), saved.z).dataSync() as Float32Array;
      for (let b = 0; b < B; b++) {
        const zb = b * n * D;
        const yb = b * (D + P);
        for (let d = 0; d < D; d++) dz[zb + d] = (dz[zb + d] as number) + (dy[yb + d] as number);
      }
    }
    const dBottom = new Float32Array(B * D);
    const dSlab = new Float32Array(B * F * D);
    for (let b = 0; b < B; b++) {
      const zb = b * n * D;
      dBottom.set(dz.subarray(zb, zb + D), b * D);
      dSlab.set(dz.subarray(zb + D, zb + n * D), b * F * D);
    }
    return { dBottom: tf.tensor2d(dBottom, [B, D]), dSlab };
  }

  /**
   * Backward through an MLP. x: its input, ys: its layer outputs, dy: dLoss/d(last output).
   * Writes scaled weight gradients into `grads`; returns dLoss/dx unless `inputGrad` is false.
   * `onHidden(i, a, g)` sees every hidden output a = ys[i] with its gradient g = dLoss/da.
   */
  function mlpBackward(
    layers: Mlp,
    x: tf.Tensor2D,
    ys: readonly tf.Tensor2D[],
    dy: tf.Tensor2D,
    linearLast: boolean,
    inputGrad: boolean,
    grads: Mlp,
    onHidden?: (i: number, a: tf.Tensor2D, g: tf.Tensor2D) => void,
  ): tf.Tensor2D | undefined {
    let g: tf.Tensor2D | undefined = dy;
    for (let i = layers.length - 1; i >= 0 && g !== undefined; i--) {
      const layer = layers[i];
      const y = ys[i];
      if (layer === undefined || y === undefined) throw new Error(`mlpBackward: no layer ${i}`);
      const input = i === 0 ? x : (ys[i - 1] as tf.Tensor2D);
      const dz: tf.Tensor2D = linearLast && i === layers.length - 1 ? g : reluBackward(g, y);
      grads[i] = { w: matMul2d(input, dz, true, false), b: biasGrad(dz) };
      g = i > 0 || inputGrad ? matMul2d(dz, layer.w, false, true) : undefined;
      if (i > 0 && g !== undefined) onHidden?.(i - 1, input, g);
    }
    return g;
  }

  function run(
    towers: DenseTowers,
    batch: BackpropBatch,
    opts: PassOptions & { gradScale: number },
  ): BackpropResult {
    const { dense, slab, labels } = batch;
    const B = dense.shape[0];
    const F = slab.shape[1];
    let loss = 0;
    let denseSquares = 0;
    let slabGrad: Float32Array = new Float32Array(0);
    let forwardLogits: Float32Array | undefined;
    const stats: Record<string, Float32Array> = {};
    const flat = tf.tidy(() => {
      const bottomYs = mlpOutputs(towers.bottom, dense, false);
      const bottomOut = bottomYs[bottomYs.length - 1] as tf.Tensor2D;
      const inter = interactionForward(bottomOut, slab);
      const topYs = mlpOutputs(towers.top, inter.out, true);
      const logits = (topYs[topYs.length - 1] as tf.Tensor2D).dataSync() as Float32Array;
      if (opts.logits === true) forwardLogits = logits;

      // BCE with logits in its stable form, and its gradient (σ(x) − y)/B, in float64.
      const dLogits = new Float32Array(B);
      const scale = opts.gradScale / B;
      for (let b = 0; b < B; b++) {
        const x = logits[b] as number;
        const y = labels[b] as number;
        loss += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
        dLogits[b] = (1 / (1 + Math.exp(-x)) - y) * scale;
      }
      loss /= B;

      const onHidden =
        (tower: TowerName) =>
        (index: number, a: tf.Tensor2D, g: tf.Tensor2D): void => {
          const score = tf.mean(tf.abs(tf.mul(a, g)), 0).dataSync() as Float32Array;
          stats[hiddenLayerName({ tower, index })] = score.map((v) => v / opts.gradScale);
        };
      const grads: DenseTowers = { bottom: [], top: [] };
      const dTopIn = mlpBackward(
        towers.top,
        inter.out,
        topYs,
        tf.tensor2d(dLogits, [B, 1]),
        true,
        true,
        grads.top,
        opts.probe ? onHidden('top') : undefined,
      ) as tf.Tensor2D;
      const { dBottom, dSlab } = interactionBackward(dTopIn, inter.saved, F);
      slabGrad = dSlab;
      mlpBackward(
        towers.bottom,
        dense,
        bottomYs,
        dBottom,
        false,
        false,
        grads.bottom,
        opts.probe ? onHidden('bottom') : undefined,
      );
      const all = [...grads.bottom, ...grads.top].flatMap((l) => [l.w, l.b]);
      if (opts.gradNorm === true) {
        // 2 small kernels per weight and one download: the eager paths have no graph to fuse into.
        denseSquares = tf.addN(all.map((t) => tf.sum(tf.square(t)))).dataSync()[0] as number;
      }
      return all;
    });
    // The slab gradient came out of dLoss scaled like the dense ones: undo that for the store.
    if (opts.gradScale !== 1) {
      const inv = 1 / opts.gradScale;
      for (let i = 0; i < slabGrad.length; i++) slabGrad[i] = (slabGrad[i] as number) * inv;
    }
    let gradNorm: number | undefined;
    if (opts.gradNorm === true) {
      let slabSquares = 0;
      for (let i = 0; i < slabGrad.length; i++) slabSquares += (slabGrad[i] as number) ** 2;
      gradNorm = Math.sqrt(denseSquares / opts.gradScale ** 2 + slabSquares);
    }
    let k = 0;
    const take = (mlp: Mlp): Mlp =>
      mlp.map(() => ({ w: flat[k++] as tf.Tensor2D, b: flat[k++] as tf.Tensor1D }));
    const grads = { bottom: take(towers.bottom), top: take(towers.top) };
    return {
      loss,
      grads,
      slabGrad,
      ...(opts.probe ? { activationStats: stats } : {}),
      ...(gradNorm === undefined ? {} : { gradNorm }),
      ...(forwardLogits === undefined ? {} : { logits: forwardLogits }),
    };
  }

  return {
    run,
    forward(towers, dense, slab) {
      return tf.tidy(() => {
        const bottomYs = mlpOutputs(towers.bottom, dense, false);
        const inter = interactionForward(bottomYs[bottomYs.length - 1] as tf.Tensor2D, slab);
        const topYs = mlpOutputs(towers.top, inter.out, true);
        return topYs[topYs.length - 1] as tf.Tensor2D;
      });
    },
    dispose() {
      // Nothing cached today; kept so that the trainer's ownership stays explicit.
    },
  };
}
