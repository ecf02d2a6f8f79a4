/**
 * The Parquet readers the benchmark compares, each as a BatchSource over the same decoding path
 * (decodeRows → hashing → batches), so only the file reading differs:
 * - `parquetjs-lite`: the reader before issue 13 (reads PLAIN-encoded, format 1.0 files only);
 * - `duckdb`: DuckDB's native Parquet scan through @duckdb/node-api, a candidate replacement.
 * The product's reader (hyparquet) is createParquetSource. The `*Columns` generators stop before
 * decoding, to time the file reading alone.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetReader } from 'parquetjs-lite';
import type { FeatureSpec } from '../schemas/feature-spec';
import { decodeRows, sourceColumns, type RawPieces } from '../src/data/column-decode';
import { fileBatchSource } from '../src/data/file-range';
import { openParquetFile } from '../src/data/parquet-read';
import type { BatchSource, InvalidRowPolicy } from '../src/data/source';

const opts = (path: string) => ({ path: [path], offset: 0, onInvalid: 'error' as const });

/** The pre-issue-13 reader: parquetjs-lite, row group by row group. */
export function parquetjsLiteSource(path: string, spec: FeatureSpec): BatchSource {
  return fileBatchSource('parquetjs-lite', opts(path), spec, (policy) =>
    parquetjsLitePieces(path, spec, policy),
  );
}

async function* parquetjsLitePieces(
  path: string,
  spec: FeatureSpec,
  policy: InvalidRowPolicy,
): RawPieces {
  let fileRow = 0;
  for await (const { cols, rows } of parquetjsLiteColumns(path, sourceColumns(spec))) {
    const base = fileRow;
    yield decodeRows(cols, 0, rows, spec, (r) => `${path}: row ${base + r + 1}`, policy);
    fileRow += rows;
  }
}

/** A reader's output before decoding: named columns of `rows` rows. */
export interface ColumnPiece {
  cols: Map<string, ArrayLike<unknown>>;
  rows: number;
}

/** parquetjs-lite's columns, row group by row group. */
export async function* parquetjsLiteColumns(
  path: string,
  names: string[],
): AsyncGenerator<ColumnPiece> {
  const reader = await ParquetReader.openFile(path);
  try {
    for (const group of reader.metadata.row_groups) {
      const rows = Number(group.num_rows);
      const buf = await reader.envelopeReader.readRowGroup(
        reader.schema,
        group,
        names.map((n) => [n]),
      );
      const cols = new Map(
        names.map((n) => {
          const c = buf.columnData[n];
          return [n, expand(c?.values ?? [], c?.dlevels ?? [], rows)];
        }),
      );
      yield { cols, rows };
    }
  } finally {
    await reader.close();
  }
}

/** hyparquet's columns (the product's reader), row group by row group. */
export async function* hyparquetColumns(
  path: string,
  names: string[],
): AsyncGenerator<ColumnPiece> {
  const file = await openParquetFile(path, names);
  for (const [group, rows] of file.groupRows.entries()) {
    yield { cols: await file.readRowGroup(group, names), rows };
  }
}

function expand(values: unknown[], dlevels: number[], rows: number): unknown[] {
  if (values.length === rows) return values;
  const out = new Array<unknown>(rows);
  let v = 0;
  for (let r = 0; r < rows; r++) out[r] = dlevels[r] === 0 ? null : values[v++];
  return out;
}

/** DuckDB's Parquet scan, streamed chunk by chunk (2,048 rows each). */
export function duckdbSource(path: string, spec: FeatureSpec): BatchSource {
  return fileBatchSource('duckdb', opts(path), spec, (policy) => duckdbPieces(path, spec, policy));
}

async function* duckdbPieces(path: string, spec: FeatureSpec, policy: InvalidRowPolicy): RawPieces {
  let fileRow = 0;
  for await (const { cols, rows } of duckdbColumns(path, sourceColumns(spec))) {
    const base = fileRow;
    yield decodeRows(cols, 0, rows, spec, (r) => `${path}: row ${base + r + 1}`, policy);
    fileRow += rows;
  }
}

/** DuckDB's columns, one thread, chunk by chunk (2,048 rows each). */
export async function* duckdbColumns(path: string, names: string[]): AsyncGenerator<ColumnPiece> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  try {
    const list = names.map((n) => `"${n.replace(/"/g, '""')}"`).join(', ');
    const result = await con.stream(
      `SELECT ${list} FROM read_parquet('${path.replace(/'/g, "''")}')`,
    );
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const columns = chunk.getColumns();
      yield {
        cols: new Map(names.map((n, i) => [n, columns[i] as unknown[]])),
        rows: chunk.rowCount,
      };
    }
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

/** Writes `from` again with DuckDB's defaults (dictionary encoding, snappy), as users' files are. */
export async function rewriteWithDuckdb(from: string, to: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    await con.run(`COPY (SELECT * FROM read_parquet('${from}')) TO '${to}' (FORMAT parquet)`);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
