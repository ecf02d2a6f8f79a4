import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors';
import { compressionOf } from './compression';
import { csvParser, csvReadError } from './csv';

/** The first rows of a data file, column by column, for `agp inspect`. */
export interface FileSample {
  path: string;
  format: 'csv' | 'parquet' | 'arrow';
  /** When the file's metadata says it cheaply (for CSV: counted when the file is small enough). */
  totalRows?: number;
  /** fileType as the file states it (e.g. 'INT64', 'Utf8', 'timestamp[ms]', 'string'). */
  columns: { name: string; fileType: string }[];
  /** First maxRows values per column (null = missing). */
  values: Map<string, unknown[]>;
  /** How a delimited-text file was read (delimiter, header), to suggest its source config. */
  csv?: { delimiter: string; header: boolean; columns?: string[] };
}

/** Reads the first rows of a file into a {@link FileSample}. */
export type Sampler = (path: string, maxRows: number) => Promise<FileSample>;

/** Files up to this size get an exact row count (one more pass of the parser). */
const COUNT_ALL_BYTES = 256 * 1024 * 1024;
const DELIMITERS = [',', '\t', ';', '|'];
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The first `bytes` bytes of a file (decompressed when it is gzip), as text. */
async function head(path: string, bytes: number): Promise<string> {
  const fh = await open(path, 'r').catch((cause: unknown) => {
    throw csvReadError(path, cause);
  });
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    const data = buf.subarray(0, bytesRead);
    if (compressionOf(path) !== 'gzip') return data.toString('utf8');
    try {
      return gunzipSync(data, {
        finishFlush: 2 /* Z_SYNC_FLUSH: a partial stream is fine */,
      }).toString('utf8');
    } catch (cause) {
      throw new DataError(`${path}: cannot gunzip: ${String(cause)}`, { cause });
    }
  } finally {
    await fh.close();
  }
}

/** The delimiter of a text file: tab for .tsv, else the candidate most frequent in the first line. */
function sniffDelimiter(path: string, firstLine: string): string {
  const ext = extname(path.replace(/\.gz$/, '')).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return '\t';
  let best = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const count = firstLine.split(d).length - 1;
    if (count > bestCount) [best, bestCount] = [d, count];
  }
  return best;
}

/** A first row is a header when none of its cells is empty or a number and none repeats. */
function looksLikeHeader(row: readonly string[]): boolean {
  return (
    row.every((c) => c.trim() !== '' && !NUMBER.test(c.trim())) && new Set(row).size === row.length
  );
}

/** Names for a file without a header: the Criteo layout for 40 columns, else col1, col2, … */
function defaultNames(width: number): string[] {
  if (width === 40) {
    return [
      'label',
      ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`),
      ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`),
    ];
  }
  return Array.from({ length: width }, (_, i) => `col${i + 1}`);
}

/**
 * Samples a CSV/TSV file (optionally .gz): sniffs the delimiter and whether the first row is a
 * header, keeps the first `maxRows` rows (empty cells are null), and counts all rows when the
 * file is at most 256 MiB.
 */
export async function sampleCsv(path: string, maxRows: number): Promise<FileSample> {
  const text = await head(path, 64 * 1024);
  const delimiter = sniffDelimiter(path, text.split('\n', 1)[0] ?? '');
  const parser = csvParser(path, { delimiter, quote: '"' });
  const values = new Map<string, unknown[]>();
  let names: string[] = [];
  let header = false;
  let rows = 0;
  let counted = true;
  const size = (await stat(path)).size;
  try {
    for await (const { record } of parser as AsyncIterable<{ record: string[] }>) {
      if (names.length === 0) {
        header = looksLikeHeader(record);
        names = header ? record.map((s) => s.trim()) : defaultNames(record.length);
        for (const n of names) values.set(n, []);
        if (header) continue;
      }
      if (rows < maxRows) {
        names.forEach((n, i) => {
          const v = record[i];
          (values.get(n) as unknown[]).push(v === undefined || v === '' ? null : v);
        });
      } else if (size > COUNT_ALL_BYTES) {
        counted = false;
        break;
      }
      rows++;
    }
  } catch (e) {
    throw csvReadError(path, e);
  } finally {
    parser.destroy();
  }
  if (names.length === 0) throw new DataError(`${path}: empty file`);
  const sample: FileSample = {
    path,
    format: 'csv',
    columns: names.map((name) => ({ name, fileType: 'string' })),
    values,
    csv: header ? { delimiter, header } : { delimiter, header, columns: names },
  };
  if (counted) sample.totalRows = rows;
  return sample;
}

/** The samplers `inspect` dispatches to, by format. */
export type Samplers = Partial<Record<FileSample['format'], Sampler>>;

/**
 * The format of a file from its magic bytes ("PAR1" Parquet, "ARROW1" Arrow file, an Arrow
 * stream's continuation marker 0xFFFFFFFF) or else its extension; anything else is read as text.
 */
export async function detectFormat(path: string): Promise<FileSample['format']> {
  const fh = await open(path, 'r').catch((cause: unknown) => {
    throw csvReadError(path, cause);
  });
  try {
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, 8, 0);
    const magic = buf.subarray(0, bytesRead);
    if (magic.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
    if (magic.subarray(0, 6).toString('latin1') === 'ARROW1') return 'arrow';
    if (bytesRead >= 4 && magic.readUInt32LE(0) === 0xffffffff) return 'arrow';
  } finally {
    await fh.close();
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (['.arrow', '.feather', '.ipc', '.arrows'].includes(ext)) return 'arrow';
  return 'csv';
}
