import { rm } from 'node:fs/promises';
import type { TrainReport } from '../../schemas/train-report';
import type { BatchSource } from '../data/source';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import type { Trainer } from '../model/trainer';
import { evaluateOn } from './evaluate';

/*
 * Early stopping on a validation split: the model is scored on the validation rows at the end
 * of every epoch, the best epoch's weights are saved beside the run, and training stops once
 * `patience` epochs in a row brought no better NE. The validation rows serve this and nothing
 * else, so the test rows stay untouched until the final evaluation. An epoch that ends while
 * AGP has the model pruned is recorded but not a candidate: the model a run hands on is the
 * full-width one. A resumed run starts the record afresh (its history is not in the checkpoint).
 */

/** Options of {@link createEarlyStopping}. */
export interface EarlyStoppingOptions {
  source: BatchSource;
  /** Directory for the best epoch's weights (replaced at each improvement, removed at the end). */
  dir: string;
  patience: number;
  /** The training base rate, for the standard NE. */
  trainBaseRate: number;
}

/** The state of early stopping over one run. */
export interface EarlyStopping {
  /**
   * Scores the model after `epoch` (1-based); `fullWidth` says whether it is a candidate.
   * Resolves to true when training should stop.
   */
  afterEpoch(epoch: number, trainer: Trainer, fullWidth: boolean): Promise<boolean>;
  /** The model to keep: the best epoch's (loaded; `trainer` is then disposed) or `trainer`. */
  finish(trainer: Trainer): Promise<Trainer>;
  /** What the report says about it. */
  report(): NonNullable<TrainReport['validation']>;
}

/** Early stopping for one run. */
export function createEarlyStopping(opts: EarlyStoppingOptions): EarlyStopping {
  const epochs: NonNullable<TrainReport['validation']>['epochs'] = [];
  let best: { epoch: number; ne: number } | null = null;
  let lastEpoch = 0;
  let stoppedEarly = false;
  return {
    async afterEpoch(epoch, trainer, fullWidth) {
      lastEpoch = epoch;
      const m = await evaluateOn(trainer, opts.source, { trainBaseRate: opts.trainBaseRate });
      const ne = Number.isFinite(m.ne) ? m.ne : null;
      epochs.push({ epoch, ne: fullWidth ? ne : null, rows: m.count });
      if (!fullWidth || ne === null) return false;
      if (best === null || ne < best.ne) {
        best = { epoch, ne };
        await saveCheckpoint(opts.dir, trainer, { v: 1, kind: 'best-epoch', epoch });
        return false;
      }
      stoppedEarly = epoch - best.epoch >= opts.patience;
      return stoppedEarly;
    },
    async finish(trainer) {
      const kept = best as { epoch: number } | null;
      if (kept === null || kept.epoch === lastEpoch) {
        await rm(opts.dir, { recursive: true, force: true });
        return trainer;
      }
      const loaded = await loadCheckpoint(opts.dir);
      trainer.dispose();
      await rm(opts.dir, { recursive: true, force: true });
      return loaded.trainer;
    },
    report: () => ({
      bestEpoch: (best as { epoch: number } | null)?.epoch ?? null,
      stoppedEarly,
      epochs,
    }),
  };
}
