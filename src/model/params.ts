import type * as tf from '@tensorflow/tfjs-core';

/**
 * Parameter and optimizer-slot shapes shared by the model (src/model) and the AGP surgery
 * (src/agp). AGP prunes and grows hidden neurons by slicing these tensors, so the layout is a
 * contract: change it in one place and both sides follow.
 */

/** One fully connected layer, y = x·w + b. w: [in, out], b: [out]. */
export interface DenseLayer {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

/** A multilayer perceptron: ReLU after every layer but the last of the top MLP. */
export type Mlp = DenseLayer[];

/** The two dense towers of DLRM: bottom (dense features → embedding dim) and top (→ 1 logit). */
export interface DenseTowers {
  bottom: Mlp;
  top: Mlp;
}

export type TowerName = keyof DenseTowers;

/**
 * Optimizer state of one layer: slot tensors shaped like `w` and like `b`
 * (SGD: none; momentum: [velocity]; Adam: [m, v]). Slot k of `w` pairs with slot k of `b`.
 */
export interface LayerSlots {
  w: tf.Tensor2D[];
  b: tf.Tensor1D[];
}

/** Optimizer state of both towers, parallel to DenseTowers layer by layer. */
export interface TowerSlots {
  bottom: LayerSlots[];
  top: LayerSlots[];
}

/**
 * A prunable hidden layer: the hidden neurons are the output columns of `tower[index]`
 * (and the input rows of `tower[index + 1]`). The last layer of each tower is never prunable.
 */
export interface HiddenLayerRef {
  tower: TowerName;
  index: number;
}

/** Stable name of a hidden layer, e.g. `bottom.0`, used in configs, reports and checkpoints. */
export function hiddenLayerName(ref: HiddenLayerRef): string {
  return `${ref.tower}.${ref.index}`;
}
