import { z } from 'zod';
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

/** Criteo TSV: label, the dense columns, the categorical columns (spec order), tab-separated. */
export const CriteoTsvSource = z.object({ kind: z.literal('criteo-tsv'), ...fileFields });
/** Parquet: one column per feature, named as in the FeatureSpec. */
export const ParquetSource = z.object({ kind: z.literal('parquet'), ...fileFields });
/** Arrow IPC (file or stream format): one column per feature, named as in the FeatureSpec. */
export const ArrowSource = z.object({ kind: z.literal('arrow'), ...fileFields });
/** The synthetic generator (its own FeatureSpec: I1..In dense, C1..Cm categorical). */
export const SyntheticSource = SyntheticOptions.extend({ kind: z.literal('synthetic') });
/** MovieLens ml-latest-small (its own FeatureSpec), split by time. */
export const MovielensSource = z.object({
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
  ParquetSource,
  ArrowSource,
  SyntheticSource,
  MovielensSource,
]);
export type DataSourceConfig = z.infer<typeof DataSourceConfig>;
export type DataSourceConfigInput = z.input<typeof DataSourceConfig>;
export type FileSourceConfig = z.infer<typeof CriteoTsvSource>;
export type SyntheticSourceConfig = z.infer<typeof SyntheticSource>;
export type MovielensSourceConfig = z.infer<typeof MovielensSource>;
