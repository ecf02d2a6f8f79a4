import { DataSourceConfig, type DataSourceConfigInput } from '../../schemas/data-source';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { parseOrThrow } from '../../schemas/zod-errors';
import { ConfigError } from '../errors';
import { createArrowSource } from './arrow';
import { createCriteoTsvSource } from './criteo-tsv';
import { createCsvSource } from './csv';
import { infraConfig } from '../config/env';
import { createKafka } from '../stream/kafka-client';
import { createKafkaRangeSource } from './windows/kafka-range-source';
import { createMovielensSource, MOVIELENS_SPEC } from './movielens';
import { createParquetSource } from './parquet';
import type { BatchSource } from './source';
import { createSyntheticSource } from './synthetic/source';
import { resolveSyntheticConfig, syntheticFeatureSpec } from './synthetic/presets';

/**
 * Opens the source a (zod-validated) data-source config describes. File sources use `spec`
 * (e.g. criteoFeatureSpec()); synthetic and MovieLens sources bring their own spec and ignore
 * it unless it is given for synthetic data (then it must have the same feature counts).
 * Throws ConfigError naming the bad field.
 */
export function openSource(
  config: DataSourceConfig | DataSourceConfigInput,
  spec?: FeatureSpec,
): BatchSource {
  const cfg = parseOrThrow(DataSourceConfig, config, 'data source');
  const needSpec = (): FeatureSpec => {
    if (spec === undefined) throw new TypeError(`a '${cfg.kind}' source needs a FeatureSpec`);
    return spec;
  };
  switch (cfg.kind) {
    case 'criteo-tsv':
      return createCriteoTsvSource(cfg, needSpec());
    case 'csv':
      return createCsvSource(cfg, needSpec());
    case 'parquet':
      return createParquetSource(cfg, needSpec());
    case 'arrow':
      return createArrowSource(cfg, needSpec());
    case 'synthetic': {
      const { kind: _kind, ...opts } = cfg;
      return createSyntheticSource(opts, spec);
    }
    case 'movielens':
      return createMovielensSource(cfg);
    case 'kafka-range': {
      const rangeSpec = spec ?? cfg.features;
      if (rangeSpec === undefined) {
        throw new ConfigError(`a 'kafka-range' source needs its 'features' (a FeatureSpec)`);
      }
      return createKafkaRangeSource(cfg, rangeSpec, () =>
        createKafka(infraConfig().kafka, { clientId: 'agp-window' }),
      );
    }
  }
}

/** The FeatureSpec a config implies without a user-supplied one (synthetic, MovieLens), else undefined. */
export function impliedFeatureSpec(
  config: DataSourceConfig | DataSourceConfigInput,
): FeatureSpec | undefined {
  const cfg = parseOrThrow(DataSourceConfig, config, 'data source');
  if (cfg.kind === 'movielens') return MOVIELENS_SPEC;
  if (cfg.kind === 'synthetic') {
    const { kind: _kind, ...opts } = cfg;
    return syntheticFeatureSpec(resolveSyntheticConfig(opts));
  }
  return undefined;
}
