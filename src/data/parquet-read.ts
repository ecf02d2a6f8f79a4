import { open, stat } from 'node:fs/promises';
import {
  parquetMetadataAsync,
  parquetScan,
  parquetSchema,
  type AsyncBuffer,
  type FileMetaData,
  type ParquetScan,
  type SchemaElement,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError } from '../errors';

/**
 * A Parquet file opened for reading flat columns one row group at a time (hyparquet, with
 * hyparquet-compressors for snappy, gzip, zstd, lz4, lz4_raw and brotli). Only the footer is
 * read on open; each {@link ParquetFile.readRowGroup} reads and decodes the chunks of the
 * requested columns of one row group, so memory is bounded by one row group's columns.
 *
 * Decoded cell values: numbers (INT8..INT32, FLOAT, DOUBLE), bigints (INT64), booleans,
 * strings (UTF8 and, as UTF-8 text, unannotated BYTE_ARRAY), Dates (TIMESTAMP ms/µs/ns and
 * Spark's INT96, converted from bigints without overflow) and null where a value is absent.
 */
export interface ParquetFile {
  path: string;
  metadata: FileMetaData;
  /** Top-level columns in file order, with their type as the file states it. */
  columns: { name: string; fileType: string }[];
  /** Row count of each row group. */
  groupRows: number[];
  /** Columns `names` (of those opened) of row group `group`, each of the group's length. */
  readRowGroup(group: number, names: readonly string[]): Promise<Map<string, ArrayLike<unknown>>>;
}

/**
 * A file as hyparquet's byte source: each slice is one positional read. Ours rather than
 * hyparquet's `asyncBufferFromFile`, which sits behind its Node-only export condition that the
 * CommonJS build of the CLI (tsconfig.build.json, node10 resolution) cannot see.
 */
async function fileAsyncBuffer(path: string): Promise<AsyncBuffer> {
  const { size } = await stat(path);
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const bytes = new Uint8Array(Math.max(0, stop - start));
      if (bytes.length === 0) return bytes.buffer;
      const handle = await open(path, 'r');
      try {
        let done = 0;
        while (done < bytes.length) {
          const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done);
          if (bytesRead === 0)
            throw new Error(`${path}: unexpected end of file at ${start + done}`);
          done += bytesRead;
        }
      } finally {
        await handle.close();
      }
      return bytes.buffer;
    },
  };
}

/**
 * Opens a Parquet file to read the columns `needed` (default: every flat column) and checks
 * that it has them.
 * @throws DataError naming the file: not Parquet, or a column missing or nested.
 */
export async function openParquetFile(
  path: string,
  needed?: readonly string[],
): Promise<ParquetFile> {
  let file: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    file = await fileAsyncBuffer(path);
    metadata = await parquetMetadataAsync(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DataError(`${path}: no such file`, { cause });
    }
    throw new DataError(`${path}: cannot open as Parquet: ${message(cause)}`, { cause });
  }
  const tree = parquetSchema(metadata);
  const columns = tree.children.map((c) => ({
    name: c.element.name,
    fileType: c.children.length ? 'nested' : parquetTypeName(c.element),
  }));
  const reading = needed ?? columns.filter((c) => c.fileType !== 'nested').map((c) => c.name);
  for (const name of reading) {
    const col = columns.find((c) => c.name === name);
    if (col === undefined) {
      throw new DataError(
        `${path}: no column '${name}' (the FeatureSpec names it); the file has ${columns.map((c) => c.name).join(', ')}`,
      );
    }
    if (col.fileType === 'nested') {
      throw new DataError(`${path}: column '${name}' is nested (a list or struct), not a value`);
    }
  }
  let scan: ParquetScan;
  try {
    // The scan reads only what readColumn asks for and caches one range per column.
    scan = await parquetScan({ file, metadata, compressors, columns: [...reading] });
  } catch (cause) {
    throw new DataError(`${path}: cannot open as Parquet: ${message(cause)}`, { cause });
  }
  const groupRows = metadata.row_groups.map((g) => Number(g.num_rows));
  const starts: number[] = [];
  groupRows.reduce((start, rows) => (starts.push(start), start + rows), 0);

  return {
    path,
    metadata,
    columns,
    groupRows,
    async readRowGroup(group, names) {
      const rowStart = starts[group] as number;
      const rowEnd = rowStart + (groupRows[group] as number);
      const out = new Map<string, ArrayLike<unknown>>();
      if (rowEnd === rowStart) {
        for (const name of names) out.set(name, []);
        return out;
      }
      // One at a time: the scan caches its last range per column, and columns read in
      // parallel would each hold a decompressed chunk at once anyway.
      for (const name of names) {
        try {
          out.set(name, await scan.readColumn({ column: name, rowStart, rowEnd }));
        } catch (cause) {
          throw new DataError(
            `${path}: row group ${group}: column ${name}: cannot decode: ${message(cause)}`,
            { cause },
          );
        }
      }
      return out;
    },
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The column type as the file states it: the physical type, then the logical type when there
 * is one, e.g. `INT64`, `INT32 (INT(8, signed))`, `BYTE_ARRAY (STRING)`,
 * `INT64 (TIMESTAMP(MILLIS))`, `INT96` (Spark's timestamps).
 */
export function parquetTypeName(el: SchemaElement): string {
  const physical = el.type ?? 'GROUP';
  const logical = el.logical_type;
  if (logical === undefined) {
    return el.converted_type === undefined ? physical : `${physical} (${el.converted_type})`;
  }
  switch (logical.type) {
    case 'INTEGER':
      return `${physical} (INT(${logical.bitWidth}, ${logical.isSigned ? 'signed' : 'unsigned'}))`;
    case 'TIMESTAMP':
      return `${physical} (TIMESTAMP(${logical.unit}))`;
    case 'TIME':
      return `${physical} (TIME(${logical.unit}))`;
    case 'DECIMAL':
      return `${physical} (DECIMAL(${logical.precision}, ${logical.scale}))`;
    default:
      return `${physical} (${logical.type})`;
  }
}
