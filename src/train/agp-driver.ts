import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { AgpConfig } from '../../schemas/agp-config';
import type { AgpController, AgpStepPlan } from '../agp/controller';
import { grow } from '../agp/grow';
import { computeImportance } from '../agp/importance';
import { planPrune } from '../agp/plan';
import { parsePruneRecord, PruneRecord, type PruneSnapshot } from '../agp/prune-record';
import { prune } from '../agp/surgery';
import { createTaylorAccumulator, type TaylorAccumulator } from '../agp/taylor';
import type { Trainer } from '../model/trainer';
import type { Rng } from '../rng';

/**
 * Applies the AGP controller's plan to a live trainer: before each step it asks the controller
 * what the step looks like and, on a `prune` or `grow` event, ranks the neurons and does the
 * surgery on the trainer's towers and optimizer slots. The controller decides *when*; this
 * decides *which neurons* and owns the state a later grow needs (prune record, `restore`
 * snapshot, Taylor window).
 */
export interface AgpDriver {
  /** Reshapes the trainer for step `step` if the plan says so; returns the plan. */
  beforeStep(step: number): AgpStepPlan;
  /** Whether step `step` should collect Taylor statistics (only with `importance: taylor`). */
  wantsActivationStats(step: number): boolean;
  /** Feeds one step's Taylor statistics. */
  afterStep(stats: Record<string, Float32Array> | undefined): void;
  /** Plain JSON for checkpoints (with the snapshot's weights when `restore` growth needs them). */
  toJSON(): AgpDriverState;
  dispose(): void;
}

/** Serialised driver state, stored in checkpoints next to the controller's. */
export const AgpDriverState = z.object({
  record: PruneRecord.nullable(),
  snapshot: z
    .record(z.string(), z.object({ shape: z.array(z.number().int()), data: z.array(z.number()) }))
    .nullable(),
  taylor: z
    .object({
      window: z.number().int(),
      batches: z.array(z.record(z.string(), z.array(z.number()))),
    })
    .nullable(),
});
export type AgpDriverState = z.infer<typeof AgpDriverState>;

/** Creates a driver for `trainer`, optionally restoring the state of a checkpoint. */
export function createAgpDriver(opts: {
  trainer: Trainer;
  controller: AgpController;
  config: AgpConfig;
  rng: Rng;
  from?: AgpDriverState;
}): AgpDriver {
  const { trainer, controller, config, rng } = opts;
  let record: PruneRecord | undefined =
    opts.from?.record === null || opts.from?.record === undefined
      ? undefined
      : parsePruneRecord(opts.from.record);
  let snapshot: PruneSnapshot | undefined = restoreSnapshot(opts.from?.snapshot ?? null);
  const taylor: TaylorAccumulator | undefined =
    config.importance === 'taylor'
      ? createTaylorAccumulator(config.taylorBatches, opts.from?.taylor ?? undefined)
      : undefined;

  function importanceNow(): Record<string, Float32Array> {
    const stats = taylor !== undefined && taylor.count() > 0 ? taylor.mean() : undefined;
    // Without Taylor statistics yet (e.g. a prune at step 0), fall back to weight norms.
    const kind =
      config.importance === 'taylor' && stats === undefined ? 'l2-inout' : config.importance;
    return computeImportance(trainer.towers, kind, stats);
  }

  function doPrune(plan: AgpStepPlan): void {
    const importance = importanceNow();
    const keep = planPrune(importance, plan.widths);
    const result = prune(trainer.towers, trainer.slots, keep, {
      importance,
      keepSnapshot: config.growth === 'restore',
      ...(record === undefined ? {} : { record }),
      ...(snapshot === undefined ? {} : { snapshot }),
    });
    trainer.towers = result.towers;
    trainer.slots = result.slots;
    record = result.record;
    snapshot = result.snapshot;
    taylor?.reset();
  }

  function doGrow(): void {
    if (record === undefined) return;
    const result = grow(trainer.towers, trainer.slots, record, config.growth, rng, {
      splitNoise: config.splitNoise,
      // Rank copies by what the kept neurons are worth now, after the pruned phase trained them.
      importance: importanceNow(),
      ...(snapshot === undefined ? {} : { snapshot }),
    });
    trainer.towers = result.towers;
    trainer.slots = result.slots;
    record = undefined;
    snapshot = undefined;
    taylor?.reset();
  }

  return {
    beforeStep(step) {
      const plan = controller.at(step);
      if (plan.event === 'prune') doPrune(plan);
      else if (plan.event === 'grow') doGrow();
      return plan;
    },
    wantsActivationStats(step) {
      if (taylor === undefined) return false;
      // Only the batches just before a prune matter: collect in the window before each event.
      for (let k = 1; k <= config.taylorBatches; k++) {
        if (step + k < controller.totalSteps && controller.at(step + k).event === 'prune')
          return true;
      }
      return false;
    },
    afterStep(stats) {
      if (stats !== undefined) taylor?.add(stats);
    },
    toJSON() {
      return {
        record: record ?? null,
        snapshot: snapshot === undefined ? null : snapshotToJson(snapshot),
        taylor: taylor?.toJSON() ?? null,
      };
    },
    dispose() {
      if (snapshot !== undefined) {
        for (const { w, b } of Object.values(snapshot)) {
          w.dispose();
          b.dispose();
        }
        snapshot = undefined;
      }
    },
  };
}

function snapshotToJson(snapshot: PruneSnapshot): NonNullable<AgpDriverState['snapshot']> {
  const out: NonNullable<AgpDriverState['snapshot']> = {};
  for (const [layer, { w, b }] of Object.entries(snapshot)) {
    out[`${layer}.w`] = { shape: w.shape, data: Array.from(w.dataSync()) };
    out[`${layer}.b`] = { shape: b.shape, data: Array.from(b.dataSync()) };
  }
  return out;
}

function restoreSnapshot(json: AgpDriverState['snapshot']): PruneSnapshot | undefined {
  if (json === null) return undefined;
  const snapshot: PruneSnapshot = {};
  for (const [name, t] of Object.entries(json)) {
    const layer = name.replace(/\.(w|b)$/, '');
    const entry = (snapshot[layer] ??= {} as PruneSnapshot[string]);
    if (name.endsWith('.w')) entry.w = tf.tensor2d(t.data, t.shape as [number, number]);
    else entry.b = tf.tensor1d(t.data);
  }
  return snapshot;
}
