import { criteoFeatureSpec, type FeatureSpec } from '../../schemas/feature-spec';
import type { DataSourceConfig } from '../../schemas/data-source';
import type { TrainConfig } from '../../schemas/train-config';
import type { BinaryMetrics } from '../metrics/evaluate';
import { createArrowSource } from '../data/arrow';
import { createCriteoTsvSource } from '../data/criteo-tsv';
import { createParquetSource } from '../data/parquet';
import type { BatchSource } from '../data/source';
import { createSyntheticSource } from '../data/synthetic/source';


/** The train and test sources of a run, sharing one feature spec. */
export interface TrainingData {
  spec: FeatureSpec;
  train: BatchSource;
  test: BatchSource;
  /** Bayes-optimal metrics of the test set, when the data is synthetic. */
  bayes?: () => BinaryMetrics;
}

function open(
  cfg: DataSourceConfig,
  spec: FeatureSpec | undefined,
  fileSpec: FeatureSpec,
): BatchSource {
  switch (cfg.kind) {
    case 'criteo-tsv':
      return createCriteoTsvSource(cfg, spec ?? fileSpec);
    case 'parquet':
      return createParquetSource(cfg, spec ?? fileSpec);
    case 'arrow':
      return createArrowSource(cfg, spec ?? fileSpec);
    case 'synthetic':
      return createSyntheticSource(cfg, spec);
    case 'movielens':
      throw new Error('movielens: pending');
  }
}

/** Opens `config.data`: the test source is encoded with the train source's feature spec. */
export function openTrainingData(config: TrainConfig): TrainingData {
  const fileSpec = config.data.features ?? criteoFeatureSpec(config.data.buckets);
  const train = open(config.data.train, undefined, fileSpec);
  const test = open(config.data.test, train.spec, fileSpec);
  const data: TrainingData = { spec: train.spec, train, test };
  if ('bayes' in test && typeof test.bayes === 'function') {
    data.bayes = () => (test as { bayes(): BinaryMetrics }).bayes();
  }
  return data;
}
