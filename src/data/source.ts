import type { FeatureSpec } from '../../schemas/feature-spec';
import type { OnInvalid } from '../../schemas/data-source';
import { DataError } from '../errors';
import type { ColumnarBatch } from './batch';
import { encodeRawBatch, sliceRawBatch, type RawBatch } from './raw-batch';

/** Options of {@link BatchSource.batches}. */
export interface BatchOptions {
  /** Rows per batch; the last batch may be smaller. */
  batchSize: number;
  /**
   * Rows to leave out at the start, counted in rows this source yields (malformed rows that
   * were skipped do not count), so a resumed run passes the number of samples it has consumed.
   * @default 0
   */
  startRow?: number;
}

/** Anything that yields training rows: files, the synthetic generator, MovieLens. */
export interface BatchSource {
  /** The feature spec the batches are encoded with. */
  readonly spec: FeatureSpec;
  /** Malformed rows skipped so far (only with `onInvalid: 'skip'`; otherwise they throw). */
  readonly skipped: number;
  /** The first skipped rows with their reasons (at most {@link KEPT_SKIP_REASONS}). */
  readonly skippedRows?: readonly SkippedRow[];
  /** Yields the rows in order, `batchSize` at a time. Each call starts a fresh pass. */
  batches(opts: BatchOptions): AsyncIterable<ColumnarBatch>;
  /** One line for logs and reports, e.g. `criteo-tsv train.tsv (rows 0..8000)`. */
  describe(): string;
  /**
   * The rows before encoding (raw dense values, raw categorical values), from `startRow` on,
   * in pieces of any size; file sources have it. Replaying a dataset as click events uses it,
   * so the online path hashes the same raw values the offline readers hash.
   */
  rawBatches?(opts: { startRow?: number }): AsyncIterable<RawBatch>;
}

/** One skipped row: where (file and line or row) and what was wrong (column and problem). */
export interface SkippedRow {
  where: string;
  problem: string;
}

/** How many skipped rows a policy keeps with their reasons (the rest are only counted). */
export const KEPT_SKIP_REASONS = 10;

/**
 * What a reader does with a malformed row: `error` throws a DataError naming the file, line
 * and field; `skip` counts it, keeps the first few reasons (a user must see what was dropped,
 * e.g. a header row) and moves on.
 */
export class InvalidRowPolicy {
  skipped = 0;
  /** The first {@link KEPT_SKIP_REASONS} skipped rows. */
  readonly reasons: SkippedRow[] = [];
  constructor(
    private readonly mode: OnInvalid,
    private readonly keep = KEPT_SKIP_REASONS,
  ) {}

  /** Reports one malformed row; returns normally only in `skip` mode. */
  reject(where: string, problem: string): void {
    if (this.mode === 'error') {
      throw new DataError(`${where}: ${problem} (set onInvalid: 'skip' to skip such rows)`);
    }
    this.skipped++;
    if (this.reasons.length < this.keep) this.reasons.push({ where, problem });
  }
}

/**
 * Turns raw pieces of any size into encoded batches of exactly `batchSize` rows (the last may
 * be smaller), dropping the first `startRow` rows before they are encoded.
 */
export async function* rebatch(
  pieces: AsyncIterable<RawBatch> | Iterable<RawBatch>,
  spec: FeatureSpec,
  opts: BatchOptions,
): AsyncGenerator<ColumnarBatch> {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  let toSkip = opts.startRow ?? 0;
  const numDense = spec.dense.length;
  const numSparse = spec.sparse.length;
  let pending: ColumnarBatch[] = [];
  let pendingRows = 0;
  for await (let raw of pieces) {
    if (toSkip > 0) {
      if (toSkip >= raw.size) {
        toSkip -= raw.size;
        continue;
      }
      raw = sliceRawBatch(raw, toSkip, raw.size);
      toSkip = 0;
    }
    if (raw.size === 0) continue;
    let enc = encodeRawBatch(raw, spec);
    // A piece that is exactly one batch with nothing pending goes out as is (concat of one part).
    while (pendingRows + enc.size >= batchSize) {
      const take = batchSize - pendingRows;
      pending.push(sliceBatch(enc, 0, take));
      yield concatBatches(pending, numDense, numSparse);
      pending = [];
      pendingRows = 0;
      enc = sliceBatch(enc, take, enc.size);
    }
    if (enc.size > 0) {
      pending.push(enc);
      pendingRows += enc.size;
    }
  }
  if (pendingRows > 0) yield concatBatches(pending, numDense, numSparse);
}

/** Rows [start, end) of a batch, sharing memory with it. */
export function sliceBatch(b: ColumnarBatch, start: number, end: number): ColumnarBatch {
  if (start === 0 && end === b.size) return b;
  return {
    size: end - start,
    numDense: b.numDense,
    numSparse: b.numSparse,
    dense: b.dense.subarray(start * b.numDense, end * b.numDense),
    sparse: b.sparse.subarray(start * b.numSparse, end * b.numSparse),
    labels: b.labels.subarray(start, end),
  };
}

/** Concatenates batches of the same widths into one. */
export function concatBatches(
  parts: readonly ColumnarBatch[],
  numDense: number,
  numSparse: number,
): ColumnarBatch {
  if (parts.length === 1) return parts[0] as ColumnarBatch;
  const size = parts.reduce((n, p) => n + p.size, 0);
  const dense = new Float32Array(size * numDense);
  const sparse = new Int32Array(size * numSparse);
  const labels = new Float32Array(size);
  let row = 0;
  for (const p of parts) {
    dense.set(p.dense, row * numDense);
    sparse.set(p.sparse, row * numSparse);
    labels.set(p.labels, row);
    row += p.size;
  }
  return { size, dense, sparse, labels, numDense, numSparse };
}
