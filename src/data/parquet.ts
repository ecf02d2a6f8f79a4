import { ParquetReader, ParquetSchema, ParquetWriter, type ParquetField } from 'parquetjs-lite';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { DataError } from '../errors';
import { fileBatchSource, type FileSourceOptions } from './file-range';
import type { RawBatch, RawCategorical } from './raw-batch';
import type { BatchSource, InvalidRowPolicy } from './source';
import { decodeRows, sourceColumns, type RawPieces } from './column-decode';

/**
 * Reads Parquet files (parquetjs-lite) whose columns are named as in the FeatureSpec: the label
 * (0/1, any numeric type), dense features (numeric, nullable: null = missing) and categorical
 * features (UTF8 or integer, nullable). Decodes whole row groups column by column, without
 * materialising a JS object per row.
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
  let record = 0;
  for (const path of opts.path) {
    if (record >= end) break;
    let reader: ParquetReader;
    try {
      reader = await ParquetReader.openFile(path);
    } catch (cause) {
      throw new DataError(`${path}: cannot open as Parquet: ${String(cause)}`, { cause });
    }
    try {
      const names = sourceColumns(spec);
      for (const name of names) {
        if (!reader.schema.fieldList.some((f: ParquetField) => f.name === name)) {
          throw new DataError(`${path}: no column '${name}' (the FeatureSpec names it)`);
        }
      }
      let fileRow = 0;
      for (const group of reader.metadata.row_groups) {
        const rows = Number(group.num_rows);
        if (record + rows <= opts.offset) {
          record += rows;
          fileRow += rows;
          continue;
        }
        if (record >= end) break;
        const buf = await reader.envelopeReader.readRowGroup(
          reader.schema,
          group,
          names.map((n) => [n]),
        );
        const cols = new Map(
          names.map((n) => [
            n,
            expandColumn(buf.columnData[n]?.values ?? [], buf.columnData[n]?.dlevels ?? [], rows),
          ]),
        );
        const from = Math.max(0, opts.offset - record);
        const to = Math.min(rows, end - record);
        yield decodeRows(cols, from, to, spec, (r) => `${path}: row ${fileRow + r + 1}`, policy);
        record += rows;
        fileRow += rows;
      }
    } finally {
      await reader.close();
    }
  }
}

/** Puts nulls back where the definition level says a value is absent. */
function expandColumn(values: unknown[], dlevels: number[], rows: number): unknown[] {
  if (values.length === rows) return values;
  const out = new Array<unknown>(rows);
  let v = 0;
  for (let r = 0; r < rows; r++) out[r] = dlevels[r] === 0 ? null : values[v++];
  return out;
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
