/** What the main command's offline training config varies. */
export interface DemoTrainOptions {
  model: string;
  /** Training rows. */
  rows: number;
  /** Held-out rows. */
  testRows: number;
  /** The model's batch size. @default the model's (128) */
  batchSize?: number;
}

/**
 * The offline training config of `npm start`: synthetic capacity-bound clicks (seed 1, whose
 * teacher the replayed stream continues) and the default model. `npm run bench:fleet` trains
 * the same, so its offline figure is the main command's.
 */
export function demoTrainConfig(options: DemoTrainOptions): Record<string, unknown> {
  return {
    name: options.model,
    data: {
      train: {
        kind: 'synthetic',
        preset: 'capacity-bound',
        seed: 1,
        split: 'train',
        rows: options.rows,
      },
      test: {
        kind: 'synthetic',
        preset: 'capacity-bound',
        seed: 1,
        split: 'test',
        rows: options.testRows,
      },
    },
    ...(options.batchSize === undefined ? {} : { model: { batchSize: options.batchSize } }),
    evalPoints: 4,
    evalRows: Math.min(2_000, options.testRows),
    seed: 1,
  };
}
