import { join } from 'node:path';
import { FeatureSpec } from '../../schemas/feature-spec';
import type { MovielensSourceConfig } from '../../schemas/data-source';
import { DataError } from '../errors';
import { readLineChunks } from './line-reader';
import type { RawBatch, RawCategorical } from './raw-batch';
import { InvalidRowPolicy, rebatch, type BatchOptions, type BatchSource } from './source';

/**
 * MovieLens (ml-latest-small, GroupLens; research use only, cite Harper & Konstan 2015 — see
 * the dataset's README.txt) framed as click-through data, read in place from its directory:
 *
 * - label: rating ≥ 4 → 1, else 0;
 * - categorical: `userId`, `movieId`, `genre` (the first listed genre) and `genres` (the whole
 *   '|'-separated genre set as one value, so e.g. "Comedy|Romance" gets its own row);
 *   "(no genres listed)" counts as missing;
 * - dense, from the rating's UTC timestamp: `hour_sin`, `hour_cos` (hour of day on the unit
 *   circle, so 23:00 is near 00:00), `day_of_week` (0 = Sunday … 6) and `years_since_1995`
 *   (fractional year − 1995, log1p'd).
 *
 * Ratings are ordered by timestamp (ties by file line); the oldest `trainFraction` of them are
 * the `train` split and the rest `test`, so every test rating is newer than every train one.
 */
export const MOVIELENS_SPEC: FeatureSpec = FeatureSpec.parse({
  label: 'label',
  dense: [
    { name: 'hour_sin', transform: 'none' },
    { name: 'hour_cos', transform: 'none' },
    { name: 'day_of_week', transform: 'none' },
    { name: 'years_since_1995', transform: 'log1p' },
  ],
  sparse: [
    { name: 'userId', buckets: 4096 },
    { name: 'movieId', buckets: 65536 },
    { name: 'genre', buckets: 64 },
    { name: 'genres', buckets: 2048 },
  ],
});

/** The ratings of one split, in time order, with their timestamps. */
export interface MovielensSplit {
  raw: RawBatch;
  timestamps: Float64Array;
}

/** Creates the MovieLens source of one split (see {@link MOVIELENS_SPEC}). */
export function createMovielensSource(
  cfg: Omit<MovielensSourceConfig, 'kind'>,
): BatchSource & { split(): Promise<MovielensSplit> } {
  let policy = new InvalidRowPolicy(cfg.onInvalid);
  let loaded: Promise<MovielensSplit> | undefined;
  // Parsed once per source; the skipped count is that of the one parse.
  const split = (): Promise<MovielensSplit> => {
    if (loaded === undefined) {
      policy = new InvalidRowPolicy(cfg.onInvalid);
      loaded = loadMovielensSplit(cfg, policy);
    }
    return loaded;
  };
  return {
    spec: MOVIELENS_SPEC,
    get skipped() {
      return policy.skipped;
    },
    get skippedRows() {
      return policy.reasons;
    },
    describe: () =>
      `movielens ${cfg.dir} ${cfg.split} (oldest ${cfg.trainFraction * 100}% = train)`,
    split,
    batches(opts: BatchOptions) {
      async function* pieces(): AsyncGenerator<RawBatch> {
        yield (await split()).raw;
      }
      return rebatch(pieces(), MOVIELENS_SPEC, opts);
    },
  };
}

async function loadGenres(path: string, policy: InvalidRowPolicy): Promise<Map<number, string>> {
  const genres = new Map<number, string>();
  for await (const { lines, firstLine } of readLineChunks(path)) {
    lines.forEach((line, i) => {
      if (firstLine + i === 1) return; // header
      // movieId is before the first comma and genres after the last: titles may hold quoted commas.
      const first = line.indexOf(',');
      const last = line.lastIndexOf(',');
      const id = Number(line.slice(0, first));
      if (first < 1 || last <= first || !Number.isInteger(id)) {
        policy.reject(`${path}:${firstLine + i}`, 'expected movieId,title,genres');
        return;
      }
      genres.set(id, line.slice(last + 1));
    });
  }
  return genres;
}

async function loadMovielensSplit(
  cfg: Omit<MovielensSourceConfig, 'kind'>,
  policy: InvalidRowPolicy,
): Promise<MovielensSplit> {
  const ratingsPath = join(cfg.dir, 'ratings.csv');
  const users: number[] = [];
  const movies: number[] = [];
  const labels: number[] = [];
  const times: number[] = [];
  let genres: Map<number, string>;
  try {
    genres = await loadGenres(join(cfg.dir, 'movies.csv'), policy);
    for await (const { lines, firstLine } of readLineChunks(ratingsPath)) {
      lines.forEach((line, i) => {
        const lineNo = firstLine + i;
        if (lineNo === 1) return; // header
        const f = line.split(',');
        const [user, movie, rating, ts] = f.map(Number) as [number, number, number, number];
        let problem: string | null = null;
        if (f.length !== 4)
          problem = `expected 4 fields (userId,movieId,rating,timestamp), got ${f.length}`;
        else if (!Number.isInteger(user) || f[0] === '')
          problem = `userId: not an integer: '${f[0]}'`;
        else if (!Number.isInteger(movie) || f[1] === '')
          problem = `movieId: not an integer: '${f[1]}'`;
        else if (!(rating >= 0 && rating <= 5) || f[2] === '')
          problem = `rating: not in 0..5: '${f[2]}'`;
        else if (!Number.isFinite(ts) || f[3] === '')
          problem = `timestamp: not a number: '${f[3]}'`;
        if (problem !== null) {
          policy.reject(`${ratingsPath}:${lineNo}`, problem);
          return;
        }
        users.push(user);
        movies.push(movie);
        labels.push(rating >= 4 ? 1 : 0);
        times.push(ts);
      });
    }
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw new DataError(`${cfg.dir}: cannot read MovieLens files: ${String(cause)}`, { cause });
  }
  const order = Array.from(times.keys()).sort(
    (a, b) => (times[a] as number) - (times[b] as number) || a - b,
  );
  const cut = Math.floor(order.length * cfg.trainFraction);
  const rows = cfg.split === 'train' ? order.slice(0, cut) : order.slice(cut);
  const n = rows.length;
  const dense = Array.from({ length: 4 }, () => new Float64Array(n));
  const sparse: RawCategorical[][] = Array.from({ length: 4 }, () => new Array<RawCategorical>(n));
  const outLabels = new Float32Array(n);
  const timestamps = new Float64Array(n);
  rows.forEach((src, r) => {
    const ts = times[src] as number;
    const date = new Date(ts * 1000);
    const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
    const year = date.getUTCFullYear() + date.getUTCMonth() / 12;
    (dense[0] as Float64Array)[r] = Math.sin((2 * Math.PI * hour) / 24);
    (dense[1] as Float64Array)[r] = Math.cos((2 * Math.PI * hour) / 24);
    (dense[2] as Float64Array)[r] = date.getUTCDay();
    (dense[3] as Float64Array)[r] = year - 1995;
    const movie = movies[src] as number;
    const g = genres.get(movie);
    const set = g === undefined || g === '(no genres listed)' ? null : g;
    (sparse[0] as RawCategorical[])[r] = users[src] as number;
    (sparse[1] as RawCategorical[])[r] = movie;
    (sparse[2] as RawCategorical[])[r] = set === null ? null : (set.split('|')[0] as string);
    (sparse[3] as RawCategorical[])[r] = set;
    outLabels[r] = labels[src] as number;
    timestamps[r] = ts;
  });
  return { raw: { size: n, labels: outLabels, dense, sparse }, timestamps };
}
