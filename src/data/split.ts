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

/** One range: a `last …` ending at `end`, or `{from, to}`. */
function rangeOf(
  r: TimeRange,
  end: number,
  span: number,
  unit: SplitConfig['unit'],
  field: string,
): [number, number] {
  if (typeof r === 'string') {
    const last = parseLast(r, field);
    const length = 'ms' in last ? last.ms : last.share * span;
    return [end - length, Infinity];
  }
  const from = instant(r.from, unit, `${field}.from`);
  const to = instant(r.to, unit, `${field}.to`);
  if (!(from < to)) throw new ConfigError(`${field}: 'from' must be before 'to'`);
  return [from, to];
}

/**
 * The time bounds of a split over a source whose times run from `minT` to `maxT` (epoch ms).
 * Test `last D` is `[maxT − D, ∞)`; validation `last D` is the span of that length before the
 * test's start; train is every row before the earlier of the two starts. `field` prefixes errors
 * (e.g. `config.json: data.split`).
 * @throws ConfigError when the ranges overlap or leave no time to train on
 */
export function timeBounds(
  split: SplitConfig,
  minT: number,
  maxT: number,
  field = 'data.split',
): TimeBounds {
  const span = maxT - minT;
  const test = rangeOf(split.test as TimeRange, maxT, span, split.unit, `${field}.test`);
  // A `last` test range runs to the newest row; it is open so that row is inside.
  let validation: [number, number] | undefined;
  if (split.validation !== undefined) {
    const v = split.validation as TimeRange;
    validation = rangeOf(v, test[0], span, split.unit, `${field}.validation`);
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
