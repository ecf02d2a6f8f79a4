import type { BatchSource } from '../data/source';
import { evaluateBinary, type BinaryMetrics } from '../metrics/evaluate';
import type { Trainer } from '../model/trainer';
import { createEventLoopYield } from './event-loop-yield';

/**
 * Scores the first `rows` rows of `source` (all when omitted) and returns held-out metrics;
 * `trainBaseRate` (the training rows' label mean) makes `ne` the standard NE.
 */
export async function evaluateOn(
  trainer: Trainer,
  source: BatchSource,
  opts: { rows?: number; batchSize?: number; trainBaseRate?: number } = {},
): Promise<BinaryMetrics> {
  const limit = opts.rows ?? Infinity;
  const preds: number[] = [];
  const labels: number[] = [];
  const yieldEventLoop = createEventLoopYield();
  for await (const batch of source.batches({ batchSize: opts.batchSize ?? 2048 })) {
    await yieldEventLoop();
    const p = trainer.predict(batch);
    const take = Math.min(batch.size, limit - preds.length);
    for (let i = 0; i < take; i++) {
      preds.push(p[i] as number);
      labels.push(batch.labels[i] as number);
    }
    if (preds.length >= limit) break;
  }
  return evaluateBinary(preds, labels, opts.trainBaseRate);
}

/**
 * Counts the rows a source yields and their positive labels (one pass; file sources have no
 * cheaper row count): the positives give the training base rate of the standard NE.
 */
export async function countRows(source: BatchSource): Promise<{ rows: number; positives: number }> {
  let rows = 0;
  let positives = 0;
  // Counting a synthetic split generates it: tens of seconds with nothing else running.
  const yieldEventLoop = createEventLoopYield();
  for await (const batch of source.batches({ batchSize: 8192 })) {
    rows += batch.size;
    for (let i = 0; i < batch.size; i++) positives += batch.labels[i] as number;
    await yieldEventLoop();
  }
  return { rows, positives };
}
