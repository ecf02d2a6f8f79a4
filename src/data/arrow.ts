import { createReadStream, createWriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Schema } from 'apache-arrow';
import {
  DataType,
  Float64,
  Precision,
  Int64,
  RecordBatchFileWriter,
  RecordBatchReader,
  Table,
  Utf8,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { registerArrowCodecs } from './arrow-codecs';
import type { FileSample } from './file-sample';
import { printable } from './sample-value';

/** Rows per raw piece handed on. */
const PIECE_ROWS = 4096;
import { DataError } from '../errors';
import { decodeRows, sourceColumns, type RawPieces } from './column-decode';
import { fileBatchSource, type FileSourceOptions } from './file-range';
import type { RawBatch, RawCategorical } from './raw-batch';
import type { BatchSource, InvalidRowPolicy } from './source';

/**
 * Reads Arrow IPC files (file or stream format, detected from the bytes; Feather v2 is the file
 * format) whose columns are named as in the FeatureSpec: label (0/1 as any integer, float or
 * boolean type), dense features (numeric, nullable) and categorical features (Utf8, dictionary
 * or integer, nullable). Record batches compressed with LZ4_FRAME (pyarrow's Feather default) or
 * ZSTD are decompressed. Streams record batch by batch.
 */
export function createArrowSource(opts: FileSourceOptions, spec: FeatureSpec): BatchSource {
  return fileBatchSource('arrow', opts, spec, (policy) => readArrowPieces(opts, spec, policy));
}

/** A record batch as this reader uses it. */
interface Batch {
  numRows: number;
  schema: Schema;
  getChild(name: string): Vector | null;
}

/**
 * The record batches of one file, with every failure (no such file, not Arrow, a codec or a
 * corrupt body) as a DataError naming the file.
 */
async function* arrowBatches(path: string): AsyncGenerator<Batch> {
  registerArrowCodecs();
  let batches: AsyncIterator<Batch>;
  try {
    await access(path);
    const reader = await RecordBatchReader.from(createReadStream(path));
    batches = reader[Symbol.asyncIterator]();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DataError(`${path}: no such file`, { cause });
    }
    throw new DataError(`${path}: cannot open as Arrow IPC: ${message(cause)}`, { cause });
  }
  for (let index = 0; ; index++) {
    let next: IteratorResult<Batch>;
    try {
      next = await batches.next();
    } catch (cause) {
      throw new DataError(`${path}: record batch ${index}: cannot read: ${message(cause)}`, {
        cause,
      });
    }
    if (next.done === true) return;
    yield next.value;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function* readArrowPieces(
  opts: FileSourceOptions,
  spec: FeatureSpec,
  policy: InvalidRowPolicy,
): RawPieces {
  const end = opts.limit === undefined ? Infinity : opts.offset + opts.limit;
  const names = sourceColumns(spec);
  let record = 0;
  for (const path of opts.path) {
    if (record >= end) break;
    let fileRow = 0;
    for await (const batch of arrowBatches(path)) {
      const rows = batch.numRows;
      if (record + rows <= opts.offset || rows === 0) {
        record += rows;
        fileRow += rows;
        continue;
      }
      if (record >= end) break;
      const cols = new Map(
        names.map((n) => {
          const v = batch.getChild(n);
          if (v === null) {
            const has = batch.schema.fields.map((f) => f.name).join(', ');
            throw new DataError(
              `${path}: no column '${n}' (the FeatureSpec names it); the file has ${has}`,
            );
          }
          return [n, vectorToColumn(v)];
        }),
      );
      const from = Math.max(0, opts.offset - record);
      const to = Math.min(rows, end - record);
      const base = fileRow;
      const where = (r: number) => `${path}: row ${base + r + 1}`;
      // Pieces of a few thousand rows, as the Parquet reader does (pyarrow writes record
      // batches of up to 64Ki rows; decoding one at once costs GC time).
      for (let at = from; at < to; at += PIECE_ROWS) {
        yield decodeRows(cols, at, Math.min(to, at + PIECE_ROWS), spec, where, policy);
      }
      record += rows;
      fileRow += rows;
    }
  }
}

/**
 * A vector as an indexable column with nulls where values are absent: Int64 as bigints,
 * timestamps and dates as Dates (apache-arrow gives epoch milliseconds, the Parquet reader
 * gives Dates; derived time features take either), dictionaries as their values.
 */
function vectorToColumn(v: Vector): ArrayLike<unknown> {
  // Ints and 32/64-bit floats without nulls in one chunk: the values array as is (Int64 → bigint).
  const t = v.type;
  const numeric = DataType.isInt(t) || (DataType.isFloat(t) && t.precision !== Precision.HALF);
  if (v.nullCount === 0 && numeric && v.data.length === 1) {
    return v.toArray() as ArrayLike<unknown>;
  }
  const out = new Array<unknown>(v.length);
  if (DataType.isTimestamp(t) || DataType.isDate(t)) {
    for (let i = 0; i < v.length; i++) {
      const ms = v.get(i) as number | Date | null;
      out[i] = ms === null ? null : new Date(ms);
    }
    return out;
  }
  for (let i = 0; i < v.length; i++) out[i] = v.get(i);
  return out;
}

/**
 * The column types (apache-arrow's names, e.g. `Int64`, `Dictionary<Int32, Utf8>`,
 * `Timestamp<MILLISECOND>`) and first `maxRows` values of an Arrow IPC file; reads only the
 * record batches those rows are in. The row count is not in an IPC file's metadata: left out.
 */
export async function sampleArrow(path: string, maxRows: number): Promise<FileSample> {
  let columns: FileSample['columns'] | undefined;
  const values = new Map<string, unknown[]>();
  let taken = 0;
  for await (const batch of arrowBatches(path)) {
    if (columns === undefined) {
      columns = batch.schema.fields.map((f) => ({ name: f.name, fileType: String(f.type) }));
      for (const c of columns) values.set(c.name, []);
    }
    if (taken >= maxRows) break;
    const n = Math.min(batch.numRows, maxRows - taken);
    for (const [name, out] of values) {
      const v = batch.getChild(name);
      if (v === null) continue;
      const col = vectorToColumn(v);
      for (let r = 0; r < n; r++) out.push(printable(col[r]));
    }
    taken += n;
  }
  return { path, format: 'arrow', columns: columns ?? [], values };
}

/** Options of {@link writeArrow}. */
export interface WriteArrowOptions {
  /** Column type of the categorical features. @default inferred from the first value: number → Int64, else Utf8 */
  categoricalType?: 'utf8' | 'int64';
}

/**
 * Writes raw rows to an Arrow IPC file (file format), one record batch per piece, one column
 * per feature (names from the spec): label Int32, dense Float64 (nullable), categorical Utf8 or
 * Int64 (nullable). Streams to disk. Returns the row count.
 */
export async function writeArrow(
  path: string,
  pieces: AsyncIterable<RawBatch> | Iterable<RawBatch>,
  spec: FeatureSpec,
  opts: WriteArrowOptions = {},
): Promise<number> {
  const writer = new RecordBatchFileWriter();
  const out = createWriteStream(path);
  writer.toNodeStream().pipe(out);
  let catType = opts.categoricalType;
  let rows = 0;
  for await (const raw of pieces) {
    if (raw.size === 0) continue;
    catType ??= inferType(raw);
    const columns: Record<string, Vector> = {
      [spec.label]: vectorFromArray(Int32Array.from(raw.labels)),
    };
    spec.dense.forEach((f, i) => {
      const col = raw.dense[i] as ArrayLike<number>;
      columns[f.name] = vectorFromArray(
        Array.from(col, (x) => (Number.isNaN(x) ? null : x)),
        new Float64(),
      );
    });
    spec.sparse.forEach((f, i) => {
      const col = raw.sparse[i] as ArrayLike<RawCategorical>;
      columns[f.name] =
        catType === 'int64'
          ? vectorFromArray(
              Array.from(col, (x) => toBigInt(x, path, f.name)),
              new Int64(),
            )
          : vectorFromArray(
              Array.from(col, (x) => (x === null || x === '' ? null : String(x))),
              new Utf8(),
            );
    });
    for (const b of new Table(columns).batches) writer.write(b);
    rows += raw.size;
  }
  if (rows === 0) {
    out.destroy();
    throw new DataError(`${path}: nothing to write (no rows)`);
  }
  writer.finish();
  await finished(out);
  return rows;
}

function toBigInt(x: RawCategorical, path: string, name: string): bigint | null {
  if (x === null || x === '') return null;
  if (typeof x === 'number' && Number.isSafeInteger(x)) return BigInt(x);
  throw new DataError(`${path}: column ${name} is Int64 but got '${String(x)}'`);
}

function inferType(raw: RawBatch): 'utf8' | 'int64' {
  for (const col of raw.sparse) {
    for (let r = 0; r < col.length; r++) {
      const v = col[r];
      if (v !== null && v !== undefined && v !== '')
        return typeof v === 'number' ? 'int64' : 'utf8';
    }
  }
  return 'utf8';
}
