import type { BatchSource } from '../data/source';
import { evaluateBinary, type BinaryMetrics } from '../metrics/evaluate';
import type { Trainer } from '../model/trainer';

/** Options of {@link continueTraining}. */
export interface ContinueOptions {
  batchSize: number;
  /** First row of `source` to train on (e.g. the end of the offline run's rows). @default 0 */
  startRow?: number;
  /**
   * The base rate the NE is normalized by (standard NE: the rate of the rows trained on).
   * @default the scored rows' own rate, which are the rows trained on here
   */
  trainBaseRate?: number;
  /**
   * The lr factor of each step, from the step count since the continuation began (a resolved
   * `recurring.optimizer`, src/train/recurring-lr.ts). @default the configured rates
   */
  lrScale?: (stepsSinceStart: number) => number;
}

/**
 * Trains `trainer` further on `source` from `startRow` the way the recurring phase does: at the
 * configured learning rates times `lrScale`, at the model's current widths, and scoring each
 * batch before training on it. Returns the progressive metrics over all scored rows, which
 * measure what a model handed to the recurring phase is worth: how well it keeps learning.
 * (`count` is the number of rows trained on.)
 */
export async function continueTraining(
  trainer: Trainer,
  source: BatchSource,
  opts: ContinueOptions,
): Promise<BinaryMetrics> {
  const preds: number[] = [];
  const labels: number[] = [];
  let steps = 0;
  for await (const batch of source.batches({
    batchSize: opts.batchSize,
    startRow: opts.startRow ?? 0,
  })) {
    const p = trainer.predict(batch);
    for (let i = 0; i < batch.size; i++) {
      preds.push(p[i] as number);
      labels.push(batch.labels[i] as number);
    }
    trainer.step(batch, { lrScale: opts.lrScale?.(steps++) ?? 1 });
  }
  return evaluateBinary(preds, labels, opts.trainBaseRate);
}
