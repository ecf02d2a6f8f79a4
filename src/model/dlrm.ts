import type * as tf from '@tensorflow/tfjs-core';
// Ops' gradients, for tfjs autodiff through this reference. Only here: the trainer's step is
// written out by hand (backprop.ts) and needs none, and this ESM-only file of tfjs-core cannot
// be required from the built CLI (dist/).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { denseArch } from './dense-arch';
import { interactionArch } from './interaction-arch';
import type { MlpProbes } from './mlp';
import { overArch } from './over-arch';
import type { DenseTowers } from './params';

/** Taylor probes for both towers (see MlpProbes). */
export interface DlrmProbes {
  bottom: MlpProbes;
  top: MlpProbes;
}

/**
 * The DLRM forward pass, composed from its arches like TorchRec's DLRM; the sparse arch (the
 * embedding store) has already gathered `slab` outside the autodiff graph.
 * dense: [B, numDense], slab: [B, F, D] → logits [B, 1]. Widths come from the tensors in
 * `towers`, never from a config, so AGP may resize them between steps.
 *
 * The trainer runs the hand-written forward/backward of backprop.ts (faster: no tape); this
 * differentiable composition stays as its reference (backprop.test.ts checks one against the
 * other) and for callers that want tfjs autodiff through the model.
 */
export function dlrmForward(
  towers: DenseTowers,
  dense: tf.Tensor2D,
  slab: tf.Tensor3D,
  probes?: DlrmProbes,
): tf.Tensor2D {
  const bottomOut = denseArch(towers.bottom, dense, probes?.bottom);
  const interactions = interactionArch(bottomOut, slab);
  return overArch(towers.top, interactions, probes?.top);
}
