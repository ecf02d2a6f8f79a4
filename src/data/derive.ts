import { EpochUnit, type Derive } from '../../schemas/feature-spec';
import type { RawCategorical } from './raw-batch';

/**
 * Derived features: values computed from a source column (hour of day, day of week, bucket
 * index) or from two categoricals (a cross). One implementation serves the file readers and
 * click events, so a derived value means the same offline and online.
 */

/** Why a cell could not be turned into a feature value (the reader names file, line, column). */
export class BadValue {
  constructor(readonly reason: string) {}
}

const MS_PER_UNIT: Record<EpochUnit, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };
const MIN_MS = Date.UTC(1900, 0, 1);
const MAX_MS = Date.UTC(3000, 0, 1);
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
// ISO date-time without an offset: read as UTC (JavaScript would read it as local time).
const ISO_NO_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

function show(v: unknown): string {
  const s = String(v);
  return `'${s.length > 40 ? `${s.slice(0, 40)}…` : s}'`;
}

/** A numeric timestamp in `unit` → epoch ms, checked to lie in 1900..2999. */
function fromEpoch(v: number, unit: EpochUnit, raw: unknown): number | BadValue {
  const ms = v * MS_PER_UNIT[unit];
  if (ms >= MIN_MS && ms < MAX_MS) return ms;
  const fits = EpochUnit.options.find((u) => {
    const m = v * MS_PER_UNIT[u];
    return m >= MIN_MS && m < MAX_MS;
  });
  const hint = fits === undefined ? '' : ` (set derive.unit: '${fits}'?)`;
  return new BadValue(
    `timestamp ${show(raw)} read as epoch '${unit}' is outside the years 1900..2999${hint}`,
  );
}

/**
 * A timestamp cell → epoch milliseconds, or null when missing. Numbers, numeric strings and
 * bigints are epoch values in `unit`; other strings are ISO 8601 (UTC unless they carry an
 * offset); dates are taken as they are.
 */
export function epochMillis(v: unknown, unit: EpochUnit): number | null | BadValue {
  if (v === null || v === undefined || v === '') return null;
  if (v instanceof Date) {
    const ms = v.getTime();
    return Number.isFinite(ms) ? ms : new BadValue('invalid date');
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return new BadValue(`not a timestamp: ${show(v)}`);
    return fromEpoch(v, unit, v);
  }
  // Hour granularity: a nanosecond bigint's rounding to a double (~256 ns) does not matter.
  if (typeof v === 'bigint') return fromEpoch(Number(v), unit, v);
  if (typeof v === 'string') {
    if (NUMERIC.test(v)) return fromEpoch(Number(v), unit, v);
    const ms = Date.parse(ISO_NO_OFFSET.test(v) ? `${v.replace(' ', 'T')}Z` : v);
    if (Number.isFinite(ms)) return ms;
  }
  return new BadValue(`not a timestamp (epoch number or ISO 8601 text): ${show(v)}`);
}

const BLOCK_MS = 15 * 60 * 1000;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * (hour, weekday) of an epoch-ms instant in a time zone, as `hour * 8 + weekday`. Every time
 * zone offset in use is a multiple of 15 minutes, so both are constant within a 15-minute block
 * and Intl (slow) runs once per block.
 */
function zonedClock(timeZone: string): (ms: number) => number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') {
    return (ms) => {
      const hour = Math.floor(ms / 3_600_000) % 24;
      const day = Math.floor(ms / 86_400_000) % 7;
      // 1970-01-01 was a Thursday (4).
      return ((hour + 24) % 24) * 8 + ((day + 7 + 4) % 7);
    };
  }
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    hour: 'numeric',
    weekday: 'short',
  });
  const cache = new Map<number, number>();
  return (ms) => {
    const block = Math.floor(ms / BLOCK_MS);
    let v = cache.get(block);
    if (v === undefined) {
      let hour = 0;
      let day = 0;
      for (const p of fmt.formatToParts(block * BLOCK_MS)) {
        if (p.type === 'hour') hour = Number(p.value);
        else if (p.type === 'weekday') day = WEEKDAYS.indexOf(p.value);
      }
      v = hour * 8 + day;
      if (cache.size >= 100_000) cache.clear();
      cache.set(block, v);
    }
    return v;
  };
}

/** A numeric cell → a number, or null when missing. */
function numberOf(v: unknown): number | null | BadValue {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return new BadValue(`not a number: ${show(v)}`);
}

/** Index of the bucket of `x` among ascending `boundaries` (see Derive in schemas/feature-spec). */
export function bucketIndex(x: number, boundaries: readonly number[]): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x >= (boundaries[mid] as number)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A compiled derivation: source cell → value (null when the source is missing). */
export type Deriver = (v: unknown) => number | null | BadValue;

/** Compiles a `derive` spec into a function over source cells. */
export function compileDerive(derive: Derive): Deriver {
  switch (derive.kind) {
    case 'hourOfDay':
    case 'dayOfWeek': {
      const clock = zonedClock(derive.timeZone);
      const { unit } = derive;
      const hour = derive.kind === 'hourOfDay';
      return (v) => {
        const ms = epochMillis(v, unit);
        if (ms === null || ms instanceof BadValue) return ms;
        const c = clock(ms);
        return hour ? c >> 3 : c & 7;
      };
    }
    case 'bucketize': {
      const { boundaries } = derive;
      return (v) => {
        const x = numberOf(v);
        return x === null || x instanceof BadValue ? x : bucketIndex(x, boundaries);
      };
    }
  }
}

/** The crossed value of two categoricals: missing when either is, else the pair as text. */
export function crossValue(a: RawCategorical, b: RawCategorical): RawCategorical {
  if (a === null || a === '' || b === null || b === '') return null;
  // U+001F (unit separator) does not occur in real categorical values, so pairs stay distinct.
  return `${a}\u001f${b}`;
}
