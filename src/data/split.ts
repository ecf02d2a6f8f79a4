import { LAST_PATTERN, type SplitConfig, type TimeRange } from '../../schemas/split';
import { ConfigError } from '../errors';
import { BadValue, epochMillis } from './derive';
import { fmix32 } from './hashing';

/**
 * The pure half of a `data.split`: reading durations, the stable hash of a key, and which part
 * a row's time or key puts it in. src/data/split-source.ts applies it to a source's rows.
 */

/** The three parts of a split source. */
export type SplitPart = 'train' | 'validation' | 'test';

const MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** A parsed `last …`: a span in ms, or a share of the source's time span. */
export type LastSpan = { ms: number } | { share: number };

/**
 * `'last 1d'` → `{ms: 86400000}`, `'last 10%'` → `{share: 0.1}`.
 * @throws ConfigError naming `field` for anything else, a zero span, or a share of 100% or more
 */
export function parseLast(text: string, field: string): LastSpan {
  const m = LAST_PATTERN.exec(text.trim());
  if (m === null) {
    throw new ConfigError(
      `${field}: expected 'last <n><d|h|m|s|%>' (e.g. 'last 1d'), got '${text}'`,
    );
  }
  const n = Number(m[1]);
  const unit = m[2] as string;
  if (!(n > 0)) throw new ConfigError(`${field}: '${text}' is an empty span`);
  if (unit === '%') {
    if (n >= 100) throw new ConfigError(`${field}: '${text}' leaves no rows to train on`);
    return { share: n / 100 };
  }
  return { ms: n * (MS[unit] as number) };
}

/**
 * A key's place in [0, 1): FNV-1a over the UTF-8 bytes of its text, then murmur3's finaliser
 * (FNV-1a alone leaves the high bits of short keys poorly mixed). Missing keys hash as ''. The
 * same key gives the same number on every run and host, so a user stays in one part.
 */
export function splitHash(key: string | number | null | undefined): number {
  const text = key === null || key === undefined ? '' : String(key);
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193);
  return fmix32(h >>> 0) / 0x1_0000_0000;
}

/** Where a hash split puts a key: test below `test`, validation below `test + validation`. */
export function hashPart(u: number, test: number, validation = 0): SplitPart {
  if (u < test) return 'test';
  if (u < test + validation) return 'validation';
  return 'train';
}

/** Half-open ranges `[from, to)` of epoch ms of a time split; train is `t < trainTo`. */
export interface TimeBounds {
  test: [number, number];
  validation?: [number, number];
  trainTo: number;
}

/** An instant of a `{from, to}` range → epoch ms, or a ConfigError naming the field. */
function instant(v: string | number, unit: SplitConfig['unit'], field: string): number {
  const ms = epochMillis(v, unit ?? 's');
  if (ms === null || ms instanceof BadValue) {
    const why = ms instanceof BadValue ? ms.reason : 'empty';
    throw new ConfigError(`${field}: ${why}`);
  }
  return ms;
}

/** Index of the first of the ascending `sorted` that is >= `t` (sorted.length when none). */
function lowerBound(sorted: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One range: a `last …` ending at `end`, whose first row is `endRow` of `sorted` (a duration,
 * or that share of all rows just before it, by time), or `{from, to}`.
 */
function rangeOf(
  r: TimeRange,
  end: number,
  endRow: number,
  sorted: ArrayLike<number>,
  unit: SplitConfig['unit'],
  field: string,
): [number, number] {
  if (typeof r === 'string') {
    const last = parseLast(r, field);
    if ('ms' in last) return [end - last.ms, Infinity];
    // The time of the row `share × rows` rows before row `endRow` (the first not before `end`).
    const first = Math.max(0, endRow - Math.max(1, Math.round(last.share * sorted.length)));
    return [sorted[first] as number, Infinity];
  }
  const from = instant(r.from, unit, `${field}.from`);
  const to = instant(r.to, unit, `${field}.to`);
  if (!(from < to)) throw new ConfigError(`${field}: 'from' must be before 'to'`);
  return [from, to];
}

/**
 * The time bounds of a split over a source whose rows' times (epoch ms) are `sorted`
 * (ascending). Test `last D` is `[newest − D, ∞)`, test `last P%` starts at the time of the row
 * P% of the rows from the newest (rows at that time are all test, so it may hold a few more);
 * validation `last …` is the same just before the test's start; train is every row before the
 * earlier of the two starts. `field` prefixes errors (e.g. `config.json: data.split`).
 * @throws ConfigError when the ranges overlap or leave no time to train on
 */
export function timeBounds(
  split: SplitConfig,
  sorted: ArrayLike<number>,
  field = 'data.split',
): TimeBounds {
  const minT = sorted[0] as number;
  const maxT = sorted[sorted.length - 1] as number;
  // A `last …` test range ends after the newest row (open, so that row is inside).
  const n = sorted.length;
  const test = rangeOf(split.test as TimeRange, maxT, n, sorted, split.unit, `${field}.test`);
  let validation: [number, number] | undefined;
  if (split.validation !== undefined) {
    const v = split.validation as TimeRange;
    const endRow = lowerBound(sorted, test[0]);
    validation = rangeOf(v, test[0], endRow, sorted, split.unit, `${field}.validation`);
    if (typeof v === 'string') validation[1] = test[0];
    if (validation[0] < test[1] && test[0] < validation[1]) {
      throw new ConfigError(`${field}.validation: overlaps the test range`);
    }
  }
  const trainTo = Math.min(test[0], validation?.[0] ?? Infinity);
  if (!(trainTo > minT)) {
    throw new ConfigError(
      `${field}: no rows are left to train on (the source's times start at ${new Date(minT).toISOString()}, the held-out ranges at ${new Date(trainTo).toISOString()})`,
    );
  }
  return { test, ...(validation === undefined ? {} : { validation }), trainTo };
}

/** The part a row at epoch ms `t` is in; null between or after the held-out ranges. */
export function timePart(t: number, b: TimeBounds): SplitPart | null {
  if (t >= b.test[0] && t < b.test[1]) return 'test';
  if (b.validation !== undefined && t >= b.validation[0] && t < b.validation[1]) {
    return 'validation';
  }
  return t < b.trainTo ? 'train' : null;
}
