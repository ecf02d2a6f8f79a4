import { z } from 'zod';
import { AgpConfig } from './agp-config';
import { DataSourceConfig } from './data-source';
import { FeatureSpec } from './feature-spec';
import { LrSchedule } from './lr-schedule';
import { ModelOverrides } from './model-config';
import { SplitConfig } from './split';
import { parseOrThrow } from './zod-errors';
import { ConfigError } from '../src/errors';

/**
 * One offline training run: where the rows come from, the model, the AGP schedule, and where
 * the run writes its reports and checkpoints. `npx agp train --config <file>` reads this as JSON.
 */
export const TrainConfig = z.strictObject({
  /** Name of the model in the registry and in reports. @default 'dlrm' */
  name: z.string().min(1).default('dlrm'),
  data: z.strictObject({
    /** The training rows; with `split`, the one source that is split into train, validation and test. */
    train: DataSourceConfig,
    /** The test rows, read once at the end of the run. Required unless `split` is given. */
    test: DataSourceConfig.optional(),
    /**
     * Splits `train` (one CSV, Parquet or Arrow source) into train, validation and test rows by
     * a time column or by a stable hash of a key column (SplitConfig in schemas/split.ts),
     * instead of `test` and `validation` sources.
     */
    split: SplitConfig.optional(),
    /**
     * Feature spec of file sources (TSV, Parquet, Arrow). Synthetic and MovieLens sources bring
     * their own. @default the Criteo Kaggle layout with `buckets` rows per table
     */
    features: FeatureSpec.optional(),
    /**
     * Validation rows, for early stopping across epochs and for nothing else: the model is
     * evaluated on them at the end of every epoch, the epoch with the best NE is the one kept
     * (its number in the report), and training stops after `patience` epochs without a better
     * one. An epoch that ends while AGP has the model pruned is not a candidate (the model
     * handed on is full-width). The test rows are then touched once, at the end.
     */
    validation: DataSourceConfig.optional(),
    /** Buckets per table of the default Criteo spec. @default 100000 */
    buckets: z.number().int().positive().default(100_000),
  }),
  /**
   * Model overrides (ModelOverrides in schemas/model-config.ts: embeddingDim, bottom, top,
   * denseOptimizer, embeddingOptimizer, batchSize); numDense and tableSizes come from the
   * features. An unknown field is an error. @default the DLRM reference Criteo Kaggle
   * architecture with Adam + row-wise Adagrad
   */
  model: ModelOverrides.default({}),
  agp: AgpConfig.default(AgpConfig.parse({})),
  /** Warmup and decay of the learning rates over the run. @default a linear decay over the last 10% */
  lrSchedule: LrSchedule.default(LrSchedule.parse({})),
  /** Passes over the training rows. @default 1 */
  epochs: z.number().int().positive().default(1),
  /** With `data.validation`: epochs without a better validation NE before training stops. @default 1 */
  patience: z.number().int().positive().optional(),
  /**
   * Held-out evaluations during the run (on the first `evalRows` validation rows when the run
   * has them, else test rows), for the NE curve. @default 10
   */
  evalPoints: z.number().int().min(0).default(10),
  /** Rows used by the evaluations during the run; the final test evaluation uses all. @default 10000 */
  evalRows: z.number().int().positive().default(10_000),
  /** Seed of the weights and of AGP's random choices. @default 1 */
  seed: z.number().int().default(1),
  /** Write a checkpoint every this many steps (0: only at the end). @default 0 */
  checkpointEvery: z.number().int().min(0).default(0),
  /** Directory for report.json, report.html and checkpoints. @default .data/runs/<name>-<time> */
  outDir: z.string().optional(),
});
export type TrainConfig = z.infer<typeof TrainConfig>;
export type TrainConfigInput = z.input<typeof TrainConfig>;

/**
 * Parses a training config, throwing a ConfigError that names each bad field; with `file`, each
 * line starts with it (`file: data.train.limt: unknown field (did you mean 'limit'?)`).
 */
export function parseTrainConfig(
  input: unknown,
  where = 'training config',
  file?: string,
): TrainConfig {
  const config = parseOrThrow(TrainConfig, input, where, [], file);
  const at = file === undefined ? '' : `${file}: `;
  const { test, split, validation } = config.data;
  if (split === undefined && test === undefined) {
    throw new ConfigError(
      `invalid ${where}:\n${at}data.test: missing (give the test rows, or data.split to split data.train)`,
    );
  }
  if (split !== undefined && test !== undefined) {
    throw new ConfigError(
      `invalid ${where}:\n${at}data.split: give either data.split or data.test, not both (the split makes the test rows from data.train)`,
    );
  }
  if (split !== undefined && validation !== undefined) {
    throw new ConfigError(
      `invalid ${where}:\n${at}data.validation: with data.split, give the validation rows as data.split.validation`,
    );
  }
  return config;
}
