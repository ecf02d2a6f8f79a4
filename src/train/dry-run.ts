import type { FeatureSpec } from '../../schemas/feature-spec';
import { modelConfigForFeatures, type ModelConfig } from '../../schemas/model-config';
import type { TrainConfig } from '../../schemas/train-config';
import type { SkippedRows } from '../../schemas/train-report';
import { DataError } from '../errors';
import { skippedRowsOf } from './offline';
import { openTrainingData } from './open-data';

/** What `agp train --dry-run` found: the spec and model a run would use, and a sample of each source. */
export interface DryRunResult {
  spec: FeatureSpec;
  model: ModelConfig;
  sources: Array<{ name: 'train' | 'test'; describe: string; rowsRead: number } & SkippedRows>;
}

/**
 * Validates a run without training: opens both sources, builds the model config from the
 * feature spec (catching the errors a run would hit first), and reads up to `rows` rows of each
 * source through the real readers. A malformed row throws unless the source skips them; a
 * source that yields no rows is an error.
 */
export async function dryRun(
  config: TrainConfig,
  opts: { rows: number; configPath?: string },
): Promise<DryRunResult> {
  const data = openTrainingData(config);
  const model = modelConfigForFeatures(
    data.spec,
    { ...config.model, seed: config.seed },
    opts.configPath === undefined ? 'training config' : `training config ${opts.configPath}`,
    ['model'],
  );
  const sources: DryRunResult['sources'] = [];
  for (const name of ['train', 'test'] as const) {
    const source = data[name];
    let rowsRead = 0;
    for await (const batch of source.batches({ batchSize: opts.rows })) {
      rowsRead = batch.size;
      break;
    }
    const skipped = skippedRowsOf(source);
    if (rowsRead === 0) {
      // Training would fail on it after minutes of setup, or evaluate on nothing.
      throw new DataError(
        `data.${name}: ${source.describe()}: no rows` +
          (skipped.skipped > 0
            ? ` (every row read was malformed and skipped: ${skipped.first[0]?.where ?? ''} ${skipped.first[0]?.problem ?? ''})`
            : ' (an empty file, a header-only CSV, or an offset past its end)'),
      );
    }
    sources.push({ name, describe: source.describe(), rowsRead, ...skipped });
  }
  return { spec: data.spec, model, sources };
}
