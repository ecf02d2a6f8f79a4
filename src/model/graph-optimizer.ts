import * as tf from '@tensorflow/tfjs-core';
import type { DenseOptimizerConfig } from '../../schemas/model-config';
import { tensorflowStepMode } from './graph-backprop';
import type { DenseTowers, TowerName, TowerSlots } from './params';
import { GRAPH_PRODUCER, openGraphSession, type GraphSession } from './tf-graph/graph-session';
import {
  buildOptimizerGraph,
  graphSlotCount,
  optimizerGraphNames as N,
} from './tf-graph/optimizer-graph';

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

/** The dense update as one session run (tf-graph/optimizer-graph.ts). */
export interface GraphOptimizerUpdate {
  /**
   * Updates `towers` and `slots` in place (disposing the replaced tensors), as
   * DenseOptimizer.apply does; false, with nothing changed, when the active backend is not
   * `tensorflow` (the caller then updates eagerly).
   */
  apply(
    towers: DenseTowers,
    grads: DenseTowers,
    slots: TowerSlots,
    step: number,
    lrScale: number,
  ): boolean;
  /** Closes the sessions. */
  dispose(): void;
}

/**
 * The graph update for `cfg`, or undefined for plain SGD (the step graph fuses it already) and
 * with AGP_TF_STEP=eager. Sessions open on first use, one per layer layout.
 */
export function createGraphOptimizerUpdate(
  cfg: DenseOptimizerConfig,
): GraphOptimizerUpdate | undefined {
  if (cfg.kind === 'sgd' || tensorflowStepMode() !== 'graph') return undefined;
  const kind = cfg.kind;
  const config = { ...cfg, kind };
  const slotCount = graphSlotCount(kind);
  const sessions = new Map<string, GraphSession | undefined>();

  function sessionFor(ranks: number[]): GraphSession | undefined {
    const key = ranks.join(',');
    if (!sessions.has(key)) {
      sessions.set(key, openGraphSession(buildOptimizerGraph(config, ranks, GRAPH_PRODUCER)));
    }
    return sessions.get(key);
  }

  return {
    apply(towers, grads, slots, step, lrScale) {
      if (tf.getBackend() !== 'tensorflow') return false;
      // Parameters in a fixed order: per tower, per layer, w then b.
      const params: Array<{ value: tf.Tensor; grad: tf.Tensor; slots: tf.Tensor[] }> = [];
      for (const t of TOWERS) {
        towers[t].forEach((layer, i) => {
          const g = grads[t][i];
          const s = slots[t][i];
          if (g === undefined || s === undefined) {
            throw new Error(`dense optimizer: no gradient or slots for ${t}.${i}`);
          }
          params.push({ value: layer.w, grad: g.w, slots: s.w });
          params.push({ value: layer.b, grad: g.b, slots: s.b });
        });
      }
      const session = sessionFor(params.map((p) => p.value.rank));
      if (session === undefined) return false;
      // The same scalars as the eager rules (dense-optimizer.ts), as float32.
      const lr = cfg.lr * lrScale;
      const scalars: Array<[string, tf.Tensor]> =
        kind === 'adam'
          ? [
              [N.stepSize, tf.scalar(lr / (1 - cfg.betas[0] ** step))],
              [N.biasCorrection2, tf.scalar(Math.sqrt(1 - cfg.betas[1] ** step))],
            ]
          : [[N.stepSize, tf.scalar(lr)]];
      let out: tf.Tensor[];
      try {
        out = session.run(
          [
            ...scalars,
            ...params.flatMap((p, k): Array<[string, tf.Tensor]> => [
              [N.param(k), p.value],
              [N.grad(k), p.grad],
              ...p.slots.map((s, j): [string, tf.Tensor] => [N.slot(k, j), s]),
            ]),
          ],
          params.flatMap((_, k) => [
            N.updatedParam(k),
            ...Array.from({ length: slotCount }, (__, j) => N.updatedSlot(k, j)),
          ]),
        );
      } finally {
        tf.dispose(scalars.map(([, t]) => t));
      }
      let o = 0;
      const next = (): tf.Tensor => out[o++] as tf.Tensor;
      for (const t of TOWERS) {
        towers[t].forEach((layer, i) => {
          const s = slots[t][i];
          if (s === undefined) return;
          tf.dispose([layer.w, layer.b, ...s.w, ...s.b]);
          layer.w = next() as tf.Tensor2D;
          s.w = Array.from({ length: slotCount }, () => next() as tf.Tensor2D);
          layer.b = next() as tf.Tensor1D;
          s.b = Array.from({ length: slotCount }, () => next() as tf.Tensor1D);
        });
      }
      return true;
    },
    dispose() {
      for (const s of sessions.values()) s?.dispose();
      sessions.clear();
    },
  };
}
