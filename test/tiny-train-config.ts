import type { TrainConfigInput } from '../schemas/train-config';

/** Sizes of {@link tinyTrainConfig}. */
export interface TinyTrainOptions {
  trainRows: number;
  testRows: number;
  /** @default 256 */
  evalRows?: number;
  /** Overrides of the tiny model (widths 16-4 | 16-1, embeddingDim 4, batch 64). */
  model?: TrainConfigInput['model'];
}

/**
 * An offline run of a few seconds on the `capacity-bound` synthetic stream (seed 1): what the
 * integration tests train before the part they test (a recurring window, a fault, a hand-over).
 * One place, so a change to the training config's shape is one edit, not one per test.
 */
export function tinyTrainConfig(name: string, opts: TinyTrainOptions): TrainConfigInput {
  const split = (which: 'train' | 'test', rows: number) =>
    ({ kind: 'synthetic', preset: 'capacity-bound', seed: 1, split: which, rows }) as const;
  return {
    name,
    data: { train: split('train', opts.trainRows), test: split('test', opts.testRows) },
    model: { embeddingDim: 4, bottom: [16, 4], top: [16, 1], batchSize: 64, ...opts.model },
    evalPoints: 0,
    evalRows: opts.evalRows ?? 256,
  };
}
