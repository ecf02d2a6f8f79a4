import { ParquetSchema, ParquetWriter } from 'parquetjs-lite';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { DataError } from '../errors';
import { fileBatchSource, type FileSourceOptions } from './file-range';
import type { RawBatch, RawCategorical } from './raw-batch';
import type { BatchSource, InvalidRowPolicy } from './source';
import { decodeRows, sourceColumns, type RawPieces } from './column-decode';
import type { FileSample } from './file-sample';
import { printable } from './sample-value';
import { openParquetFile } from './parquet-read';

/** Rows per raw piece handed on (see readParquetPieces). */
const PIECE_ROWS = 4096;

/**
 * Reads Parquet files whose columns are named as in the FeatureSpec: the label (0/1 as any
 * integer, float or boolean type), dense features (numeric, nullable: null = missing) and
 * categorical features (strings or integers, nullable), whatever pyarrow, Spark or DuckDB wrote
 * by default (see {@link openParquetFile}). Reads only the spec's source columns, one row group
 * at a time. A bad value names the file, the row group (numbered from 0, as pyarrow does), the
 * row (numbered from 1 across the file, as the other readers do) and the column.
 */
export function createParquetSource(opts: FileSourceOptions, spec: FeatureSpec): BatchSource {
  return fileBatchSource('parquet', opts, spec, (policy) => readParquetPieces(opts, spec, policy));
}

async function* readParquetPieces(
  opts: FileSourceOptions,
  spec: FeatureSpec,
  policy: InvalidRowPolicy,
): RawPieces {
  const end = opts.limit === undefined ? Infinity : opts.offset + opts.limit;
  const names = sourceColumns(spec);
  let record = 0;
  for (const path of opts.path) {
    if (record >= end) break;
    const file = await openParquetFile(path, names);
    let fileRow = 0;
    for (const [group, rows] of file.groupRows.entries()) {
      if (record >= end) break;
      if (record + rows > opts.offset && rows > 0) {
        const cols = await file.readRowGroup(group, names);
        const from = Math.max(0, opts.offset - record);
        const to = Math.min(rows, end - record);
        const base = fileRow;
        const where = (r: number) => `${path}: row group ${group}, row ${base + r + 1}`;
        // Pieces of a few thousand rows: decoding a whole group (often 10^5 rows or more) at
        // once builds arrays that outlive the young generation, which costs GC time.
        for (let at = from; at < to; at += PIECE_ROWS) {
          yield decodeRows(cols, at, Math.min(to, at + PIECE_ROWS), spec, where, policy);
        }
      }
      record += rows;
      fileRow += rows;
    }
  }
}

/**
 * The column types and first `maxRows` values of a Parquet file (reads the row groups those
 * rows are in). Values are as the reader decodes them, except that INT64s become numbers (or
 * decimal strings beyond 2^53) so they print and serialise.
 */
export async function sampleParquet(path: string, maxRows: number): Promise<FileSample> {
  const file = await openParquetFile(path);
  const flat = file.columns.filter((c) => c.fileType !== 'nested').map((c) => c.name);
  const values = new Map<string, unknown[]>(flat.map((n) => [n, []]));
  let taken = 0;
  for (const [group, rows] of file.groupRows.entries()) {
    if (taken >= maxRows) break;
    const n = Math.min(rows, maxRows - taken);
    const cols = await file.readRowGroup(group, flat);
    for (const [name, col] of cols) {
      const out = values.get(name) as unknown[];
      for (let r = 0; r < n; r++) out.push(printable(col[r]));
    }
    taken += n;
  }
  return {
    path,
    format: 'parquet',
    totalRows: Number(file.metadata.num_rows),
    columns: file.columns,
    values,
  };
}

/** Options of {@link writeParquet}. */
export interface WriteParquetOptions {
  /** @default 65536 */
  rowGroupSize?: number;
  /** Column type of the categorical features. @default inferred from the first value: number → INT64, else UTF8 */
  categoricalType?: 'utf8' | 'int64';
}

/**
 * Writes raw rows to a Parquet file with one column per feature (names from the spec): label
 * INT32, dense DOUBLE (nullable), categorical UTF8 or INT64 (nullable). Returns the row count.
 */
export async function writeParquet(
  path: string,
  pieces: AsyncIterable<RawBatch> | Iterable<RawBatch>,
  spec: FeatureSpec,
  opts: WriteParquetOptions = {},
): Promise<number> {
  let writer: ParquetWriter | undefined;
  let catType = opts.categoricalType;
  let rows = 0;
  for await (const raw of pieces) {
    if (writer === undefined) {
      catType ??= inferCategoricalType(raw);
      const fields: Record<string, { type: string; optional?: boolean }> = {
        [spec.label]: { type: 'INT32' },
      };
      for (const f of spec.dense) fields[f.name] = { type: 'DOUBLE', optional: true };
      for (const f of spec.sparse) {
        fields[f.name] = { type: catType === 'int64' ? 'INT64' : 'UTF8', optional: true };
      }
      writer = await ParquetWriter.openFile(new ParquetSchema(fields), path, {
        rowGroupSize: opts.rowGroupSize ?? 65536,
      });
    }
    for (let r = 0; r < raw.size; r++) {
      const row: Record<string, unknown> = { [spec.label]: raw.labels[r] };
      spec.dense.forEach((f, i) => {
        const v = (raw.dense[i] as ArrayLike<number>)[r] as number;
        row[f.name] = Number.isNaN(v) ? null : v;
      });
      spec.sparse.forEach((f, i) => {
        const v = (raw.sparse[i] as ArrayLike<RawCategorical>)[r];
        if (v === null || v === undefined || v === '') row[f.name] = null;
        else if (catType === 'utf8') row[f.name] = String(v);
        else if (typeof v === 'number' && Number.isSafeInteger(v)) row[f.name] = v;
        else throw new DataError(`${path}: column ${f.name} is INT64 but got '${String(v)}'`);
      });
      await writer.appendRow(row);
    }
    rows += raw.size;
  }
  if (writer === undefined) throw new DataError(`${path}: nothing to write (no rows)`);
  await writer.close();
  return rows;
}

function inferCategoricalType(raw: RawBatch): 'utf8' | 'int64' {
  for (const col of raw.sparse) {
    for (let r = 0; r < col.length; r++) {
      const v = col[r];
      if (v !== null && v !== undefined && v !== '')
        return typeof v === 'number' ? 'int64' : 'utf8';
    }
  }
  return 'utf8';
}
