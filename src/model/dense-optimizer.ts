import * as tf from '@tensorflow/tfjs-core';
import type { DenseOptimizerConfig } from '../../schemas/model-config';
import { createGraphOptimizerUpdate } from './graph-optimizer';
import type { DenseLayer, DenseTowers, LayerSlots, Mlp, TowerName, TowerSlots } from './params';

/** Gradients of the towers, shaped exactly like DenseTowers. Owned (and disposed) by the caller. */
export type TowerGrads = DenseTowers;

/**
 * An optimizer of the dense towers whose state is a TowerSlots parallel to the towers, so AGP
 * surgery can slice and rebuild the slots together with the weights they belong to.
 */
export interface DenseOptimizer {
  readonly config: DenseOptimizerConfig;
  /** Slot tensors per weight: sgd 0, momentum 1 (velocity), adam 2 (m, v). */
  readonly slotCount: number;
  /** Zero slots for the towers at their current widths. The caller owns them. */
  initSlots(towers: DenseTowers): TowerSlots;
  /**
   * One update. Replaces the tensors in `towers` and `slots` in place (disposing the old ones);
   * `step` is the 1-based number of this update (Adam's bias correction); `lrScale` multiplies
   * the configured learning rate (an lr schedule), default 1.
   */
  apply(
    towers: DenseTowers,
    grads: TowerGrads,
    slots: TowerSlots,
    step: number,
    lrScale?: number,
  ): void;
  /** Frees what the optimizer holds besides the slots (the graph update's TensorFlow sessions). */
  dispose(): void;
}

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

/** Updates one parameter p with gradient g and slots s; returns [p', ...s']. Runs inside tidy. */
type ParamRule = (
  p: tf.Tensor,
  g: tf.Tensor,
  s: readonly tf.Tensor[],
  step: number,
  lrScale: number,
) => tf.Tensor[];

function ruleFor(cfg: DenseOptimizerConfig): { slotCount: number; rule: ParamRule } {
  const lr = cfg.lr;
  switch (cfg.kind) {
    case 'sgd':
      return { slotCount: 0, rule: (p, g, _s, _step, k) => [tf.sub(p, tf.mul(g, lr * k))] };
    case 'momentum':
      // PyTorch's form (no dampening): v = μ·v + g; p -= lr·v.
      return {
        slotCount: 1,
        rule: (p, g, [v], _step, k) => {
          const v1 = tf.add(tf.mul(v as tf.Tensor, cfg.momentum), g);
          return [tf.sub(p, tf.mul(v1, lr * k)), v1];
        },
      };
    case 'adam': {
      const [b1, b2] = cfg.betas;
      return {
        slotCount: 2,
        rule: (p, g, [m, v], step, k) => {
          const m1 = tf.add(tf.mul(m as tf.Tensor, b1), tf.mul(g, 1 - b1));
          const v1 = tf.add(tf.mul(v as tf.Tensor, b2), tf.mul(tf.square(g), 1 - b2));
          // PyTorch's form: p -= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
          const stepSize = (lr * k) / (1 - b1 ** step);
          const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(1 - b2 ** step)), cfg.eps);
          return [tf.sub(p, tf.mul(tf.div(m1, denom), stepSize)), m1, v1];
        },
      };
    }
  }
}

/** Creates the dense optimizer described by `cfg`. */
export function createDenseOptimizer(cfg: DenseOptimizerConfig): DenseOptimizer {
  const { slotCount, rule } = ruleFor(cfg);
  // On tensorflow, momentum and Adam update every parameter in one graph run with the same ops
  // (graph-optimizer.ts); the eager rules below are the reference and the other backends' path.
  const graph = createGraphOptimizerUpdate(cfg);

  function updateLayer(
    layer: DenseLayer,
    grad: DenseLayer,
    slots: LayerSlots,
    step: number,
    lrScale: number,
  ): void {
    const [w, ...sw] = tf.tidy(() => rule(layer.w, grad.w, slots.w, step, lrScale));
    const [b, ...sb] = tf.tidy(() => rule(layer.b, grad.b, slots.b, step, lrScale));
    tf.dispose([layer.w, layer.b, ...slots.w, ...slots.b]);
    layer.w = w as tf.Tensor2D;
    layer.b = b as tf.Tensor1D;
    slots.w = sw as tf.Tensor2D[];
    slots.b = sb as tf.Tensor1D[];
  }

  return {
    config: cfg,
    slotCount,
    initSlots(towers) {
      const zeros = (mlp: Mlp): LayerSlots[] =>
        mlp.map((layer) => ({
          w: Array.from({ length: slotCount }, () => tf.zerosLike(layer.w)),
          b: Array.from({ length: slotCount }, () => tf.zerosLike(layer.b)),
        }));
      return { bottom: zeros(towers.bottom), top: zeros(towers.top) };
    },
    apply(towers, grads, slots, step, lrScale = 1) {
      if (graph?.apply(towers, grads, slots, step, lrScale) === true) return;
      for (const tower of TOWERS) {
        towers[tower].forEach((layer, i) => {
          const grad = grads[tower][i];
          const layerSlots = slots[tower][i];
          if (grad === undefined || layerSlots === undefined) {
            throw new Error(`dense optimizer: no gradient or slots for ${tower}.${i}`);
          }
          updateLayer(layer, grad, layerSlots, step, lrScale);
        });
      }
    },
    dispose() {
      graph?.dispose();
    },
  };
}
