import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { AgpConfig } from '../../schemas/agp-config';
import type { AgpController, AgpStepPlan } from '../agp/controller';
import {
  disposeSnapshot,
  parsePruneRecord,
  PruneRecord,
  snapshotEntries,
  snapshotFromEntries,
  type PruneSnapshot,
} from '../agp/prune-record';
import { createRegrownLrBoost, type RegrownLrBoost } from '../agp/regrown-lr';
import { reshapeTo, type AgpSurgeryState } from '../agp/reshape';
import { resolveLength } from '../agp/schedule';
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
  /**
   * Runs one training step; right after a grow with `regrownLr`, scales the updates of the
   * regrown neurons' weights (src/agp/regrown-lr.ts). Otherwise just `train()`.
   */
  trainStep<T>(step: number, train: () => T): T;
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
  /** Rotation: neurons the last pruned phase rested, per layer (full-width indices). */
  rested: z.record(z.string(), z.array(z.number().int().nonnegative())).nullable().default(null),
  taylor: z
    .object({
      window: z.number().int(),
      batches: z.array(z.record(z.string(), z.array(z.number()))),
    })
    .nullable(),
  /** A `regrownLr` boost in progress (src/agp/regrown-lr.ts). */
  regrownLr: z
    .object({
      regrown: z.record(z.string(), z.array(z.number().int().nonnegative())),
      fromStep: z.number().int().nonnegative(),
      steps: z.number().int().nonnegative(),
      factor: z.number(),
    })
    .nullable()
    .default(null),
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
  let state: AgpSurgeryState = {};
  if (opts.from?.record) state.record = parsePruneRecord(opts.from.record);
  const restored = restoreSnapshot(opts.from?.snapshot ?? null);
  if (restored !== undefined) state.snapshot = restored;
  if (opts.from?.rested) state.rested = opts.from.rested;
  const taylor: TaylorAccumulator | undefined =
    config.importance === 'taylor'
      ? createTaylorAccumulator(config.taylorBatches, opts.from?.taylor ?? undefined)
      : undefined;
  let boost: RegrownLrBoost | undefined =
    opts.from?.regrownLr == null
      ? undefined
      : createRegrownLrBoost(trainer.towers, opts.from.regrownLr);

  /** The regrown neurons a grow from the current record brings back, per layer. */
  function regrownByLayer(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, l] of Object.entries(state.record?.layers ?? {})) {
      const kept = new Set(l.kept);
      out[name] = Array.from({ length: l.fullWidth }, (_, j) => j).filter((j) => !kept.has(j));
    }
    return out;
  }

  function reshape(plan: AgpStepPlan, step: number): void {
    const regrown = plan.event === 'grow' ? regrownByLayer() : undefined;
    const stats = taylor !== undefined && taylor.count() > 0 ? taylor.mean() : undefined;
    // Without Taylor statistics yet (e.g. a prune at step 0), rank by weight norms.
    const effective: AgpConfig =
      config.importance === 'taylor' && stats === undefined
        ? { ...config, importance: 'l2-inout' }
        : config;
    const result = reshapeTo({
      towers: trainer.towers,
      slots: trainer.slots,
      target: plan.widths,
      config: effective,
      state,
      rng,
      ...(stats === undefined ? {} : { taylor: stats }),
    });
    trainer.towers = result.towers;
    trainer.slots = result.slots;
    state = result.state;
    // Neuron indices changed: statistics of the old neurons no longer apply.
    taylor?.reset();
    boost?.dispose();
    boost = undefined;
    if (regrown !== undefined && config.regrownLr !== undefined) {
      boost = createRegrownLrBoost(trainer.towers, {
        regrown,
        fromStep: step,
        steps: resolveLength(config.regrownLr.steps, controller.totalSteps),
        factor: config.regrownLr.factor,
      });
    }
  }

  return {
    beforeStep(step) {
      const plan = controller.at(step);
      if (plan.event !== undefined) reshape(plan, step);
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
    trainStep(step, train) {
      if (boost === undefined || !boost.active(step)) return train();
      return boost.around(step, () => trainer.towers, train);
    },
    toJSON() {
      return {
        record: state.record ?? null,
        snapshot: state.snapshot === undefined ? null : snapshotToJson(state.snapshot),
        rested: state.rested ?? null,
        taylor: taylor?.toJSON() ?? null,
        regrownLr: boost?.toJSON() ?? null,
      };
    },
    dispose() {
      boost?.dispose();
      boost = undefined;
      if (state.snapshot !== undefined) disposeSnapshot(state.snapshot);
      state = {
        ...(state.record === undefined ? {} : { record: state.record }),
        ...(state.rested === undefined ? {} : { rested: state.rested }),
      };
    },
  };
}

function snapshotToJson(snapshot: PruneSnapshot): NonNullable<AgpDriverState['snapshot']> {
  const out: NonNullable<AgpDriverState['snapshot']> = {};
  for (const { name, tensor } of snapshotEntries(snapshot)) {
    out[name] = { shape: tensor.shape, data: Array.from(tensor.dataSync()) };
  }
  return out;
}

function restoreSnapshot(json: AgpDriverState['snapshot']): PruneSnapshot | undefined {
  if (json === null) return undefined;
  return snapshotFromEntries(
    Object.entries(json).map(([name, t]) => ({ name, tensor: tf.tensor(t.data, t.shape) })),
  );
}
