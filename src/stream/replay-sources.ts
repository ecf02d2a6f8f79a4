import { criteoFeatureSpec, type FeatureSpec } from '../../schemas/feature-spec';
import type {
  DataSourceConfig,
  MovielensSourceConfig,
  SyntheticSourceConfig,
} from '../../schemas/data-source';
import { createMovielensSource } from '../data/movielens';
import { openSource } from '../data/open-source';
import type { RawBatch } from '../data/raw-batch';
import type { BatchSource } from '../data/source';
import { generateBlock, SYNTHETIC_BLOCK_ROWS } from '../data/synthetic/generator';
import { resolveSyntheticConfig, syntheticFeatureSpec } from '../data/synthetic/presets';
import { getTeacher } from '../data/synthetic/teacher';
import { rowsOfBatches, type RawRow } from './replay';

/**
 * Raw rows for replay. The synthetic generator, MovieLens and the file readers give raw values
 * (category ids or strings, raw dense values), so their events hash exactly like the offline
 * rows; a source without raw rows goes through the inverse-transform path of `rowsOfBatches`
 * (see replay.ts).
 */

/** Rows to replay and the spec they follow. */
export interface ReplayRows {
  spec: FeatureSpec;
  rows: AsyncIterable<RawRow>;
  describe: string;
}

/** Raw rows of a raw batch; NaN dense values (missing) become null. */
export function rawBatchToRows(raw: RawBatch, spec: FeatureSpec): RawRow[] {
  const rows: RawRow[] = [];
  for (let r = 0; r < raw.size; r++) {
    const dense: Record<string, number | null> = {};
    spec.dense.forEach((f, i) => {
      const v = raw.dense[i]?.[r];
      dense[f.name] = v === undefined || !Number.isFinite(v) ? null : v;
    });
    const sparse: Record<string, string | number | null> = {};
    spec.sparse.forEach((f, i) => {
      const v = raw.sparse[i]?.[r];
      sparse[f.name] = v === undefined || v === '' ? null : v;
    });
    rows.push({ label: raw.labels[r] === 1 ? 1 : 0, dense, sparse });
  }
  return rows;
}

/** Raw rows of the synthetic generator from `startRow` on, with their raw categorical ids. */
export function syntheticReplayRows(config: SyntheticSourceConfig, startRow = 0): ReplayRows {
  const { kind: _kind, ...options } = config;
  const cfg = resolveSyntheticConfig(options);
  const spec = syntheticFeatureSpec(cfg);
  async function* rows(): AsyncGenerator<RawRow> {
    const teacher = getTeacher(cfg);
    const blocks = Math.ceil(cfg.rows / SYNTHETIC_BLOCK_ROWS);
    for (let b = Math.floor(startRow / SYNTHETIC_BLOCK_ROWS); b < blocks; b++) {
      const block = rawBatchToRows(generateBlock(teacher, cfg, b).raw, spec);
      const skip = Math.max(0, startRow - b * SYNTHETIC_BLOCK_ROWS);
      yield* skip > 0 ? block.slice(skip) : block;
    }
  }
  return {
    spec,
    rows: rows(),
    describe: `synthetic ${cfg.preset} seed ${cfg.seed} ${cfg.split} from row ${startRow}`,
  };
}

/**
 * Rows to replay from a data-source config, with raw values (files are read with `spec`, by
 * default the Criteo layout).
 */
export function openReplayRows(
  config: DataSourceConfig,
  spec: FeatureSpec | undefined,
  startRow = 0,
): ReplayRows {
  switch (config.kind) {
    case 'synthetic':
      return syntheticReplayRows(config, startRow);
    case 'movielens':
      return movielensReplayRows(config, startRow);
    default:
      return batchSourceReplayRows(openSource(config, spec ?? criteoFeatureSpec()), startRow);
  }
}

/**
 * MovieLens ratings from `startRow` on, with their raw ids and their own timestamps as event
 * times (a replay keeps them unless it is given a clock).
 */
export function movielensReplayRows(config: MovielensSourceConfig, startRow = 0): ReplayRows {
  const source = createMovielensSource(config);
  async function* rows(): AsyncGenerator<RawRow> {
    const { raw, timestamps } = await source.split();
    const all = rawBatchToRows(raw, source.spec);
    for (let r = startRow; r < all.length; r++) {
      yield { ...(all[r] as RawRow), eventTime: (timestamps[r] as number) * 1000 };
    }
  }
  return { spec: source.spec, rows: rows(), describe: `${source.describe()} from row ${startRow}` };
}

/**
 * Rows of a batch source: its raw rows when it has them (file sources), so events carry the
 * same raw values the offline reader hashes; otherwise through the inverse transforms
 * (categoricals are then bucket ids, hashed again online).
 */
export function batchSourceReplayRows(source: BatchSource, startRow = 0): ReplayRows {
  const rows =
    source.rawBatches === undefined
      ? rowsOfBatches(source.batches({ batchSize: 1024, startRow }), source.spec)
      : rawRowsOf(source.rawBatches({ startRow }), source.spec);
  return { spec: source.spec, rows, describe: `${source.describe()} from row ${startRow}` };
}

async function* rawRowsOf(
  pieces: AsyncIterable<RawBatch>,
  spec: FeatureSpec,
): AsyncGenerator<RawRow> {
  for await (const raw of pieces) yield* rawBatchToRows(raw, spec);
}
