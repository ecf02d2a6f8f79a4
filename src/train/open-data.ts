import { criteoFeatureSpec, type FeatureSpec } from '../../schemas/feature-spec';
import type { TrainConfig } from '../../schemas/train-config';
import { openSource } from '../data/open-source';
import { openSplitSources } from '../data/split-source';
import { ConfigError } from '../errors';
import type { BatchSource } from '../data/source';
import type { BinaryMetrics } from '../metrics/evaluate';

/** The train and test sources of a run, sharing one feature spec. */
export interface TrainingData {
  spec: FeatureSpec;
  train: BatchSource;
  test: BatchSource;
  /** Rows for early stopping (`data.validation`), encoded with the train source's spec. */
  validation?: BatchSource;
  /** Bayes-optimal metrics of the test set, when the data is synthetic. */
  bayes?: () => BinaryMetrics;
}

/**
 * Opens `config.data`: with `data.split`, the three parts of `data.train`. File sources use `data.features` (default: the Criteo layout with
 * `data.buckets` rows per table); the test source is encoded with the train source's spec.
 */
export function openTrainingData(config: TrainConfig): TrainingData {
  const isFile = (kind: string): boolean =>
    ['criteo-tsv', 'csv', 'parquet', 'arrow'].includes(kind);
  const fileSpec = config.data.features ?? criteoFeatureSpec(config.data.buckets);
  const { split } = config.data;
  if (split !== undefined) {
    const parts = openSplitSources(config.data.train, split, fileSpec);
    return { spec: fileSpec, ...parts };
  }
  const train = openSource(
    config.data.train,
    isFile(config.data.train.kind) ? fileSpec : undefined,
  );
  if (config.data.test === undefined) {
    throw new ConfigError('data.test: missing (give the test rows, or data.split)');
  }
  const test = openSource(
    config.data.test,
    config.data.test.kind === 'movielens' ? undefined : train.spec,
  );
  const data: TrainingData = { spec: train.spec, train, test };
  if (config.data.validation !== undefined) {
    const v = config.data.validation;
    data.validation = openSource(v, v.kind === 'movielens' ? undefined : train.spec);
  }
  if ('bayes' in test && typeof test.bayes === 'function') {
    data.bayes = () => (test as { bayes(): BinaryMetrics }).bayes();
  }
  return data;
}
