import { z } from 'zod';
import { KafkaRangeSource } from './kafka-range-source';
import { SyntheticOptions } from './synthetic';

/** What a reader does with a malformed row: throw a DataError naming file and line, or skip and count. */
export const OnInvalid = z.enum(['error', 'skip']);
export type OnInvalid = z.infer<typeof OnInvalid>;

/** One path or a list of paths, read in order. */
const Paths = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((p) => (typeof p === 'string' ? [p] : p));

/** Fields shared by the file readers. */
const fileFields = {
  path: Paths,
  /** @default 'error' */
  onInvalid: OnInvalid.default('error'),
  /** Records (file rows, valid or not, across all paths) to leave out at the start. @default 0 */
  offset: z.number().int().min(0).default(0),
  /** At most this many records after `offset` (e.g. a time split of one file). */
  limit: z.number().int().positive().optional(),
};

/**
 * Criteo TSV: label, the dense columns, the categorical columns (spec order), tab-separated, no
 * header, no quoting. Columns are bound by position, so the spec cannot derive features (use
 * `kind: 'csv'` with `delimiter: '\t'` and declared `columns` for that).
 */
export const CriteoTsvSource = z.strictObject({ kind: z.literal('criteo-tsv'), ...fileFields });
/**
 * Delimited text (CSV, TSV) parsed by RFC 4180 rules: quoted fields may hold the delimiter,
 * newlines and doubled quotes. Columns are bound to the FeatureSpec by name, from the header row
 * or the declared `columns`. A path ending in `.gz` is gunzipped. Cells are text: dense columns
 * are read as numbers (empty = missing), the label as 0/1 (or true/false), categoricals as strings.
 */
export const CsvSource = z.strictObject({
  kind: z.literal('csv'),
  ...fileFields,
  /**
   * The first line of each file names the columns. With `columns` as well, the declared names
   * replace the header's. @default true without `columns`, false with them
   */
  header: z.boolean().optional(),
  /** Column names in file order, for files without a header row. */
  columns: z
    .array(z.string().min(1))
    .min(1)
    .refine((c) => new Set(c).size === c.length, { message: 'a column name is declared twice' })
    .optional(),
  /** Field separator, e.g. ',', '\t', ';', '|'. @default ',' */
  delimiter: z.string().min(1).default(','),
  /** Quote character; false reads quotes as ordinary text. @default '"' */
  quote: z.union([z.string().length(1), z.literal(false)]).default('"'),
});
/** Parquet: one column per feature, named as in the FeatureSpec. */
export const ParquetSource = z.strictObject({ kind: z.literal('parquet'), ...fileFields });
/** Arrow IPC (file or stream format): one column per feature, named as in the FeatureSpec. */
export const ArrowSource = z.strictObject({ kind: z.literal('arrow'), ...fileFields });
/** The synthetic generator (its own FeatureSpec: I1..In dense, C1..Cm categorical). */
export const SyntheticSource = SyntheticOptions.extend({ kind: z.literal('synthetic') });
/** MovieLens ml-latest-small (its own FeatureSpec), split by time. */
export const MovielensSource = z.strictObject({
  kind: z.literal('movielens'),
  /** Directory holding ratings.csv and movies.csv. */
  dir: z.string().min(1),
  /** @default 'train' */
  split: z.enum(['train', 'test']).default('train'),
  /** The oldest this fraction of ratings is `train`, the rest `test`. @default 0.8 */
  trainFraction: z.number().gt(0).lt(1).default(0.8),
  /** @default 'error' */
  onInvalid: OnInvalid.default('error'),
});

/** Where training or evaluation rows come from, discriminated on `kind`. */
export const DataSourceConfig = z.discriminatedUnion('kind', [
  CriteoTsvSource,
  CsvSource,
  ParquetSource,
  ArrowSource,
  SyntheticSource,
  MovielensSource,
  KafkaRangeSource,
]);
export type DataSourceConfig = z.infer<typeof DataSourceConfig>;
export type DataSourceConfigInput = z.input<typeof DataSourceConfig>;
export type FileSourceConfig = z.infer<typeof CriteoTsvSource>;
export type CsvSourceConfig = z.infer<typeof CsvSource>;
export type SyntheticSourceConfig = z.infer<typeof SyntheticSource>;
export type MovielensSourceConfig = z.infer<typeof MovielensSource>;
