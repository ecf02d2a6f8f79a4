import { readFile } from 'node:fs/promises';
import type { FeatureSpecInput } from '../../schemas/feature-spec';
import { sharedDataPath } from '../../test/shared-data';
import { trapLogCsv } from '../../test/unit/data/trap-log';

/**
 * The logs of bench:byod, each as CSV text with a header (how a team hands over its log), with
 * the traps planted in it and a hand-written feature spec: what someone who knows the data
 * would write (the bench compares `agp inspect`'s suggestion with it).
 */

/** A trap and how the bench tells that inspect flagged it. */
export type TrapKind =
  | 'unique id'
  | 'integer-coded id'
  | 'label-only timestamp'
  | 'value leak'
  | 'second timestamp'
  | 'shifted base rate';

/** One log of the bench. */
export interface ByodLog {
  name: string;
  /** Where the rows come from, for the results file. */
  origin: string;
  /** CSV text with a header. */
  csv: string;
  label: string;
  /** Planted (or, in a real log, known) traps by column; the base-rate shift has no column. */
  traps: Array<{ kind: TrapKind; column?: string }>;
  /** The hand-written spec (hour and weekday of `time` as categoricals when given). */
  features: FeatureSpecInput;
  /** The same features for the Python baselines. */
  python: { dense: string[]; log1p: string[]; categorical: string[]; time?: string };
}

const criteoDense = Array.from({ length: 13 }, (_, i) => `I${i + 1}`);
const criteoSparse = Array.from({ length: 26 }, (_, i) => `C${i + 1}`);

/** The Criteo sample (10k rows, no event time) with its header written out. */
async function criteo(): Promise<ByodLog> {
  const tsv = await readFile(sharedDataPath('criteo-first10k', 'train-first10k.tsv'), 'utf8');
  const header = ['label', ...criteoDense, ...criteoSparse].join(',');
  const body = tsv
    .trimEnd()
    .split('\n')
    .map((l) => l.replace(/\t/g, ','));
  return {
    name: 'criteo-10k',
    origin: 'the Criteo sample (shared/data/criteo-first10k), TSV → CSV with a header',
    csv: `${header}\n${body.join('\n')}\n`,
    label: 'label',
    traps: [],
    features: {
      label: 'label',
      dense: criteoDense.map((name) => ({ name, transform: 'log1p' as const })),
      sparse: criteoSparse.map((name) => ({ name, buckets: 10_000 })),
    },
    python: { dense: criteoDense, log1p: criteoDense, categorical: criteoSparse },
  };
}

/**
 * MovieLens ml-latest-small as a click log: the newest `rows` ratings, label rating ≥ 4, the
 * movie's genres, the rating time. userId and movieId are integer-coded ids.
 */
async function movielens(rows: number): Promise<ByodLog> {
  const dir = sharedDataPath('movielens-latest-small');
  const genres = new Map<string, string>();
  const movies = (await readFile(`${dir}/movies.csv`, 'utf8')).trimEnd().split(/\r?\n/).slice(1);
  for (const line of movies) {
    // Titles may be quoted and hold commas; genres are the last field and never do.
    genres.set(line.slice(0, line.indexOf(',')), line.slice(line.lastIndexOf(',') + 1));
  }
  const ratings = (await readFile(`${dir}/ratings.csv`, 'utf8'))
    .trimEnd()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','))
    .map(([user, movie, rating, ts]) => ({
      user: user as string,
      movie: movie as string,
      label: Number(rating) >= 4 ? 1 : 0,
      ts: Number(ts),
    }))
    .sort((a, b) => a.ts - b.ts)
    .slice(-rows);
  const lines = ratings.map(
    (r) => `${r.user},${r.movie},${genres.get(r.movie) ?? ''},${r.ts},${r.label}`,
  );
  return {
    name: `movielens-${Math.round(rows / 1000)}k`,
    origin: `MovieLens ml-latest-small (shared/data/movielens-latest-small): the newest ${rows} ratings, label rating >= 4`,
    csv: `userId,movieId,genres,timestamp,label\n${lines.join('\n')}\n`,
    label: 'label',
    traps: [
      { kind: 'integer-coded id', column: 'userId' },
      { kind: 'integer-coded id', column: 'movieId' },
    ],
    features: {
      label: 'label',
      dense: [],
      sparse: [
        { name: 'userId', buckets: 2048 },
        { name: 'movieId', buckets: 16_384 },
        { name: 'genres', buckets: 2048 },
        ...timeFeatures('timestamp', 's'),
      ],
    },
    python: {
      dense: [],
      log1p: [],
      categorical: ['userId', 'movieId', 'genres'],
      time: 'timestamp',
    },
  };
}

function timeFeatures(column: string, unit?: 's'): FeatureSpecInput['sparse'] {
  const time = { timeZone: 'UTC', ...(unit === undefined ? {} : { unit }) };
  return [
    { name: `${column}_hour`, from: column, derive: { kind: 'hourOfDay', ...time }, buckets: 32 },
    { name: `${column}_dow`, from: column, derive: { kind: 'dayOfWeek', ...time }, buckets: 8 },
  ];
}

/** A generated log with every column trap planted (test/unit/data/trap-log.ts). */
function traps(name: string, rows: number, seed: number, baseRateShift = 0): ByodLog {
  return {
    name,
    origin: `generated (test/unit/data/trap-log.ts, seed ${seed}${baseRateShift === 0 ? '' : `, base-rate logit shift ${baseRateShift} over the log`})`,
    csv: trapLogCsv({ rows, seed, baseRateShift }),
    label: 'click',
    traps: [
      { kind: 'unique id', column: 'row_id' },
      { kind: 'integer-coded id', column: 'app' },
      { kind: 'label-only timestamp', column: 'conversion_time' },
      { kind: 'value leak', column: 'revenue' },
      { kind: 'second timestamp', column: 'updated_at' },
      ...(baseRateShift === 0 ? [] : [{ kind: 'shifted base rate' as const }]),
    ],
    features: {
      label: 'click',
      dense: [{ name: 'price', transform: 'none' }],
      sparse: [
        { name: 'app', buckets: 1024 },
        { name: 'site', buckets: 64 },
        ...timeFeatures('event_time'),
      ],
    },
    python: { dense: ['price'], log1p: [], categorical: ['app', 'site'], time: 'event_time' },
  };
}

/** Every log of the bench, each ≤ 100k rows. */
export async function byodLogs(): Promise<ByodLog[]> {
  return [
    await criteo(),
    await movielens(50_000),
    traps('generated-traps-20k', 20_000, 21),
    traps('generated-traps-shifted-rate-20k', 20_000, 22, 1.5),
  ];
}
