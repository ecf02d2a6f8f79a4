import * as tf from '@tensorflow/tfjs-core';
import type { ImportanceKind } from '../../schemas/agp-config';
import { AgpError } from '../errors';
import type { DenseTowers, HiddenLayerRef } from '../model/params';
import { hiddenLayerName } from '../model/params';

/**
 * Per-neuron importance of every hidden layer, computed from the current (possibly pruned)
 * weights. Scores are aligned with the layer's current columns.
 *
 * - `l2-inout`: ‖W_l[:, j]‖ · ‖W_{l+1}[j, :]‖ — a neuron matters if it both reads and is read.
 * - `l2-in`: ‖W_l[:, j]‖.
 * - `taylor`: the trainer's per-neuron |activation × gradient| averaged over recent batches
 *   (`createTaylorAccumulator`), passed in as `taylor`.
 *
 * The bias is left out of the incoming norm: a neuron with tiny incoming weights and a large
 * bias is nearly constant, and a constant carries no information about the input, so it
 * should rank low; its constant output is what the next layer's bias can absorb in training.
 */

/** The prunable layers of the towers: every layer of a tower but its last. */
export function hiddenLayers(towers: DenseTowers): HiddenLayerRef[] {
  const refs: HiddenLayerRef[] = [];
  for (const tower of ['bottom', 'top'] as const) {
    for (let index = 0; index < towers[tower].length - 1; index++) refs.push({ tower, index });
  }
  return refs;
}

function l2Scores(towers: DenseTowers, ref: HiddenLayerRef, withOut: boolean): Float32Array {
  const layer = towers[ref.tower][ref.index];
  const next = towers[ref.tower][ref.index + 1];
  if (layer === undefined || next === undefined) {
    throw new AgpError('InvalidLayer', `${hiddenLayerName(ref)} is not a hidden layer`);
  }
  const scores = tf.tidy(() => {
    const incoming = tf.sqrt(tf.sum(tf.square(layer.w), 0));
    return withOut ? tf.mul(incoming, tf.sqrt(tf.sum(tf.square(next.w), 1))) : incoming;
  });
  const out = scores.dataSync() as Float32Array;
  scores.dispose();
  return Float32Array.from(out);
}

/**
 * Importance scores of every hidden layer, by name. `taylor` is required for kind `taylor`
 * and must hold one score per current neuron of every hidden layer.
 */
export function computeImportance(
  towers: DenseTowers,
  kind: ImportanceKind,
  taylor?: Readonly<Record<string, Float32Array>>,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const ref of hiddenLayers(towers)) {
    const name = hiddenLayerName(ref);
    if (kind !== 'taylor') {
      out[name] = l2Scores(towers, ref, kind === 'l2-inout');
      continue;
    }
    const width = towers[ref.tower][ref.index]?.w.shape[1];
    const scores = taylor?.[name];
    if (scores === undefined || scores.length !== width) {
      throw new AgpError(
        'MissingTaylorScores',
        `taylor importance of ${name} needs ${width} scores, got ${scores?.length ?? 'none'}`,
      );
    }
    out[name] = Float32Array.from(scores);
  }
  return out;
}
