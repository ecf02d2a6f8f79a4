import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { compressionOf } from './compression';
import { CsvError, parse, type Parser } from 'csv-parse';
import type { CsvSourceConfig } from '../../schemas/data-source';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { DataError } from '../errors';
import { decodeRows, sourceColumns, type RawPieces } from './column-decode';
import { fileBatchSource } from './file-range';
import type { BatchSource, InvalidRowPolicy } from './source';

/** Rows decoded per piece: enough to amortise the per-piece work, small enough to stream. */
const PIECE_ROWS = 4096;

/** The options of a CSV reader: the config without its `kind`. */
export type CsvOptions = Omit<CsvSourceConfig, 'kind'>;

/**
 * Reads delimited text (csv-parse, RFC 4180 quoting) whose columns are bound to the spec by
 * name: from each file's header row or the declared `columns`. Only the columns the spec reads
 * ({@link sourceColumns}) are kept; cells go to {@link decodeRows} as text, which reads dense
 * columns as numbers and derives computed features.
 */
export function createCsvSource(opts: CsvOptions, spec: FeatureSpec, format = 'csv'): BatchSource {
  return fileBatchSource(format, opts, spec, (policy) => readCsvPieces(opts, spec, policy));
}

/**
 * A file as a text stream, gunzipped when it is gzip: recognised by its first bytes (1f 8b),
 * whatever its name, as `agp inspect --help` promises. Other compressions are refused by name.
 */
export function openText(path: string): Readable {
  const compression = compressionOf(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  return compression === 'gzip' ? file.pipe(createGunzip()) : file;
}

/** A csv-parse parser over a file, with records as arrays and line numbers in `info`. */
export function csvParser(path: string, opts: Pick<CsvOptions, 'delimiter' | 'quote'>): Parser {
  const parser = parse({
    delimiter: opts.delimiter,
    quote: opts.quote === false ? null : opts.quote,
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
  });
  const input = openText(path);
  // A read error (missing file, bad gzip) ends the parser with that error.
  input.on('error', (e) => parser.destroy(e));
  return input.pipe(parser);
}

/** A parse or read error as a DataError naming the file (and the line, when csv-parse gives one). */
export function csvReadError(path: string, cause: unknown): DataError {
  if (cause instanceof DataError) return cause;
  const c = cause as { code?: string; message?: string; lines?: number };
  if (c.code === 'ENOENT') return new DataError(`${path}: no such file`, { cause });
  if (cause instanceof CsvError) {
    return new DataError(`${path}:${c.lines ?? '?'}: cannot parse as CSV: ${c.message}`, { cause });
  }
  if (c.code === 'Z_DATA_ERROR' || c.code === 'Z_BUF_ERROR') {
    return new DataError(`${path}: cannot gunzip: ${c.message}`, { cause });
  }
  return new DataError(`${path}: cannot read: ${c.message ?? String(cause)}`, { cause });
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** Column names of a file and where its data starts: declared, from the header row, or both. */
async function fileColumns(
  path: string,
  opts: CsvOptions,
  records: AsyncIterator<CsvRecord>,
): Promise<string[]> {
  const header = opts.header ?? opts.columns === undefined;
  if (header) {
    const first = await records.next();
    if (first.done === true) throw new DataError(`${path}: empty file (expected a header row)`);
    if (opts.columns === undefined) return first.value.record.map((s) => s.trim());
  }
  return opts.columns as string[];
}

async function* readCsvPieces(
  opts: CsvOptions,
  spec: FeatureSpec,
  policy: InvalidRowPolicy,
): RawPieces {
  const end = opts.limit === undefined ? Infinity : opts.offset + opts.limit;
  const wanted = sourceColumns(spec);
  let record = 0;
  for (const path of opts.path) {
    if (record >= end) break;
    const parser = csvParser(path, opts);
    const records = (parser as AsyncIterable<CsvRecord>)[Symbol.asyncIterator]();
    try {
      const names = await fileColumns(path, opts, records);
      const index = wanted.map((name) => {
        const i = names.indexOf(name);
        if (i < 0) {
          throw new DataError(
            `${path}: no column '${name}' (the FeatureSpec reads it; the file's columns: ${names.slice(0, 50).join(', ')})`,
          );
        }
        return i;
      });
      let cols = wanted.map(() => [] as string[]);
      let lines: number[] = [];
      const flush = (): ReturnType<typeof decodeRows> => {
        const named = new Map(wanted.map((n, k) => [n, cols[k] as string[]]));
        const at = lines;
        const raw = decodeRows(named, 0, at.length, spec, (r) => `${path}:${at[r]}`, policy);
        cols = wanted.map(() => []);
        lines = [];
        return raw;
      };
      for (;;) {
        const next = await records.next();
        if (next.done === true || record >= end) break;
        const n = record++;
        if (n < opts.offset) continue;
        const { record: fields, info } = next.value;
        if (fields.length !== names.length) {
          policy.reject(
            `${path}:${info.lines}`,
            `expected ${names.length} fields (${describeColumns(names)}), got ${fields.length}`,
          );
          continue;
        }
        for (let k = 0; k < index.length; k++) {
          (cols[k] as string[]).push(fields[index[k] as number] as string);
        }
        lines.push(info.lines);
        if (lines.length >= PIECE_ROWS) yield flush();
      }
      if (lines.length > 0) yield flush();
    } catch (e) {
      throw csvReadError(path, e);
    } finally {
      parser.destroy();
    }
  }
}

function describeColumns(names: readonly string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, …`;
}
