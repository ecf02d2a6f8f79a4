import type { DataSourceConfig } from '../../schemas/data-source';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { SplitConfig } from '../../schemas/split';
import { ConfigError, DataError } from '../errors';
import { BadValue, epochMillis } from './derive';
import { skipRows } from './file-range';
import { openSource } from './open-source';
import type { RawBatch, RawCategorical } from './raw-batch';
import { InvalidRowPolicy, rebatch, type BatchOptions, type BatchSource } from './source';
import { hashPart, splitHash, timeBounds, timePart, type SplitPart } from './split';

/** The parts of one split source; `validation` only when the split has one. */
export interface SplitSources {
  train: BatchSource;
  test: BatchSource;
  validation?: BatchSource;
}

/** A row's part by its split key; null in no part; a BadValue when its time cannot be read. */
type Classify = (key: RawCategorical) => SplitPart | null | BadValue;

/** Source kinds whose columns have names, so the split column can be read by name. */
const NAMED = new Set(['csv', 'parquet', 'arrow']);

/**
 * Splits one file source into train, validation and test by `split` (schemas/split.ts). Each
 * part reads the whole source and keeps its own rows, so the parts never share a row. The split
 * column is read as an extra raw column next to the spec's, whether or not it is a feature. A
 * time split first reads every row's time once (the newest row ends `last …` ranges; a share
 * of the rows needs them sorted), on the first pass of any part. `field` names the config's split in errors (e.g. `config.json: data.split`).
 * @throws ConfigError when the source's columns have no names (criteo-tsv, synthetic, …)
 */
export function openSplitSources(
  source: DataSourceConfig,
  split: SplitConfig,
  spec: FeatureSpec,
  field = 'data.split',
): SplitSources {
  if (!NAMED.has(source.kind)) {
    throw new ConfigError(
      `${field}: a '${source.kind}' source cannot be split by a column (its columns have no names); use a csv, parquet or arrow source, or give data.test`,
    );
  }
  const column = (split.by ?? split.hash) as string;
  const columnField = split.by === undefined ? 'hash' : 'by';
  if (column === spec.label) {
    throw new ConfigError(`${field}.${columnField}: '${column}' is the label column`);
  }
  const keyed: FeatureSpec = {
    ...spec,
    sparse: [...spec.sparse, { name: `${field}.${columnField}`, from: column, buckets: 1 }],
  };
  const onInvalid = 'onInvalid' in source ? source.onInvalid : 'error';
  const open = (): BatchSource => openSource(source, keyed);
  const timeOf = (key: RawCategorical): number | BadValue => {
    const ms = epochMillis(key, split.unit ?? 's');
    if (ms === null) return new BadValue(`${field}.by: column '${column}' is missing`);
    // epochMillis suggests the unit of a derived feature; here it is the split's.
    if (ms instanceof BadValue) {
      const reason = ms.reason.replace('derive.unit', `${field}.unit`);
      return new BadValue(`${field}.by: column '${column}': ${reason}`);
    }
    return ms;
  };

  let classify: Promise<Classify> | undefined;
  const classifier = (): Promise<Classify> => {
    classify ??= (async () => {
      if (split.hash !== undefined) {
        const test = split.test as number;
        const validation = split.validation as number | undefined;
        return (key) => hashPart(splitHash(key), test, validation);
      }
      // One pass over the times: `last …` ranges end at the newest row, and a share of the
      // rows needs them all (sorted; 8 bytes a row).
      const times: number[] = [];
      for await (const raw of keyColumn(open())) {
        for (let r = 0; r < raw.length; r++) {
          const t = timeOf(raw[r] as RawCategorical);
          if (!(t instanceof BadValue)) times.push(t);
        }
      }
      if (times.length === 0) {
        throw new DataError(`${field}.by: column '${column}' has no valid times`);
      }
      const sorted = Float64Array.from(times).sort();
      const bounds = timeBounds(split, sorted, field);
      return (key) => {
        const t = timeOf(key);
        return t instanceof BadValue ? t : timePart(t, bounds);
      };
    })();
    return classify;
  };

  const part = (name: SplitPart): BatchSource => {
    const base = open();
    let policy = new InvalidRowPolicy(onInvalid);
    async function* pieces(): AsyncGenerator<RawBatch> {
      const partOf = await classifier();
      policy = new InvalidRowPolicy(onInvalid);
      let row = 0;
      for await (const raw of rawOf(base)) {
        const keys = raw.sparse[raw.sparse.length - 1] as ArrayLike<RawCategorical>;
        const keep: number[] = [];
        for (let r = 0; r < raw.size; r++, row++) {
          const p = partOf(keys[r] as RawCategorical);
          if (p === name) keep.push(r);
          else if (p instanceof BadValue)
            policy.reject(`${base.describe()} row ${row + 1}`, p.reason);
        }
        if (keep.length > 0) yield selectRows(raw, keep);
      }
    }
    return {
      spec,
      get skipped() {
        return base.skipped + policy.skipped;
      },
      get skippedRows() {
        return [...(base.skippedRows ?? []), ...policy.reasons];
      },
      describe: () => `${base.describe()} split ${describeSplit(split)}: ${name}`,
      batches: (opts: BatchOptions) => rebatch(pieces(), spec, opts),
      rawBatches: ({ startRow = 0 }) => skipRows(pieces(), startRow),
    };
  };
  return {
    train: part('train'),
    test: part('test'),
    ...(split.validation === undefined ? {} : { validation: part('validation') }),
  };
}

/** `by ts, test last 1d, validation last 1d` or `hash user_id, test 0.1`. */
export function describeSplit(split: SplitConfig): string {
  const show = (v: unknown): string => (typeof v === 'object' ? JSON.stringify(v) : String(v));
  const head = split.by === undefined ? `hash ${split.hash}` : `by ${split.by}`;
  const validation = split.validation === undefined ? '' : `, validation ${show(split.validation)}`;
  return `${head}, test ${show(split.test)}${validation}`;
}

function rawOf(source: BatchSource): AsyncIterable<RawBatch> {
  if (source.rawBatches === undefined) throw new TypeError(`${source.describe()}: no raw rows`);
  return source.rawBatches({});
}

/** The split column (the last categorical) of every piece. */
async function* keyColumn(source: BatchSource): AsyncGenerator<ArrayLike<RawCategorical>> {
  for await (const raw of rawOf(source)) {
    yield raw.sparse[raw.sparse.length - 1] as ArrayLike<RawCategorical>;
  }
}

/** Rows `keep` of a raw piece, without its last categorical column (the split column). */
export function selectRows(raw: RawBatch, keep: readonly number[]): RawBatch {
  const n = keep.length;
  const labels = new Float64Array(n);
  keep.forEach((r, i) => (labels[i] = raw.labels[r] as number));
  const dense = raw.dense.map((col) => {
    const out = new Float64Array(n);
    keep.forEach((r, i) => (out[i] = col[r] as number));
    return out;
  });
  const sparse = raw.sparse.slice(0, -1).map((col) => keep.map((r) => col[r] as RawCategorical));
  return { size: n, labels, dense, sparse };
}
