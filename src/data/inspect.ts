import { FeatureSpec, type FeatureSpecInput } from '../../schemas/feature-spec';
import { checkLabel } from './column-decode';
import { ConfigError } from '../errors';
import { epochMillis } from './derive';
import { detectFormat, type FileSample, type Samplers } from './file-sample';
import { findLeak, quantileBins } from './label-leak';
import { baseRateShift, suggestTimeSplit } from './inspect-split';
import type { SplitConfigInput } from '../../schemas/split';

/**
 * What `agp inspect` reports about a data file: its columns with their types as stored and as
 * inferred from a sample, the label rate, and a feature spec to start from.
 */

/** What a column looks like in the sample. */
export type ColumnKind = 'binary' | 'integer' | 'number' | 'timestamp' | 'string' | 'empty';

/**
 * What the suggested spec does with a column: the label; the one event-time column (its hour
 * of day and weekday become categorical features); a categorical (hashed) or dense feature; or
 * dropped (left out: an id, a likely leak, another timestamp, no information).
 */
export type ColumnRole = 'label' | 'event time' | 'categorical' | 'dense' | 'dropped';

/** One column's figures over the sample. */
export interface ColumnReport {
  name: string;
  fileType: string;
  kind: ColumnKind;
  /** Missing values / sampled rows. */
  nullRate: number;
  /** Distinct non-missing values in the sample. */
  distinct: number;
  role: ColumnRole;
  /** Why it has this role, in a line. */
  reason: string;
  /** Flagged as a likely label leak (and dropped). */
  leak: boolean;
  /** `role: reason`, the table's last column. */
  use: string;
}

/** The whole report; `--json` prints it as is. */
export interface InspectReport {
  path: string;
  format: FileSample['format'];
  /** Rows in the file when known (exact for CSV up to 256 MiB, else from the file's metadata). */
  rows: number | null;
  sampledRows: number;
  columns: ColumnReport[];
  /** The label and its rate; `positive` lists the values read as 1 when it is not 0/1. */
  label: { name: string; rate: number; positive?: string[] } | null;
  /** The event-time column (chosen, or `--time`), null when the file has no timestamp. */
  eventTime: string | null;
  /** What the user must check before training (a label that is not 0/1, leaks, ids). */
  warnings: string[];
  /** A data-source config that reads the file (kind, path, and for CSV delimiter/header). */
  source: Record<string, unknown>;
  /** A FeatureSpec to start from; null when no label column was found. */
  features: FeatureSpecInput | null;
  /**
   * A time split of the file when its rows are in event-time order (checked on the sample) and
   * its row count is known: the oldest 80% train, the next 10% validation, the newest 10% test,
   * as `offset`/`limit` on `source`. Null otherwise (`splitNote` says why).
   */
  split: { train: SplitRange; validation: SplitRange; test: SplitRange } | null;
  splitNote: string;
  /**
   * The `data.split` to suggest when there is an event time (it needs no row order): the
   * newest 10% of the rows test, the 10% before them validation. Null otherwise
   * (`timeSplitNote` says why).
   */
  timeSplit: SplitConfigInput | null;
  timeSplitNote: string;
}

/** Records of a file, as a source's `offset` and `limit`. */
export interface SplitRange {
  offset: number;
  limit?: number;
}

const LABEL_NAMES = ['label', 'click', 'clicked', 'is_click', 'target', 'y', 'converted'];
const TIME_NAME = /time|date|(^|_)ts$|^ts|timestamp|hour/i;
/** Integer columns with at most this many distinct values are categorical. */
const LOW_CARDINALITY = 50;

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

function numeric(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() === v && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Epoch unit whose dates fall in 1980..2100 for all of `xs`, if any. */
function epochUnit(xs: readonly number[]): 's' | 'ms' | null {
  const lo = Date.UTC(1980, 0, 1);
  const hi = Date.UTC(2100, 0, 1);
  for (const [unit, k] of [
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (xs.every((x) => x * k >= lo && x * k < hi)) return unit;
  }
  return null;
}

interface Profile {
  kind: ColumnKind;
  present: unknown[];
  numbers: number[];
  unit?: 's' | 'ms';
}

function profile(name: string, fileType: string, values: readonly unknown[]): Profile {
  const present = values.filter((v) => !isMissing(v));
  if (present.length === 0) return { kind: 'empty', present, numbers: [] };
  if (present.every((v) => v instanceof Date) || /^timestamp|^date|TIMESTAMP/i.test(fileType)) {
    return { kind: 'timestamp', present, numbers: [] };
  }
  const numbers = present.map(numeric);
  if (numbers.every((n): n is number => n !== null)) {
    const unit = TIME_NAME.test(name) ? epochUnit(numbers) : null;
    if (unit !== null) return { kind: 'timestamp', present, numbers, unit };
    if (numbers.every((n) => n === 0 || n === 1)) return { kind: 'binary', present, numbers };
    return { kind: numbers.every(Number.isInteger) ? 'integer' : 'number', present, numbers };
  }
  const text = present.filter((v): v is string => typeof v === 'string');
  if (
    text.length === present.length &&
    text.every(
      (s) => /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s) && typeof epochMillis(s, 's') === 'number',
    )
  ) {
    return { kind: 'timestamp', present, numbers: [] };
  }
  if (present.every((v) => typeof v === 'boolean' || v === 'true' || v === 'false')) {
    return { kind: 'binary', present, numbers: [] };
  }
  return { kind: 'string', present, numbers: [] };
}

/** A power of two at least `n`, within [16, 1_000_000]-ish bounds. */
function bucketsFor(n: number): number {
  let b = 16;
  while (b < n && b < 1 << 20) b *= 2;
  return b;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Values that mean "positive" when a label is text (yes/no, true/false, clicked/…). */
const POSITIVE_WORDS = ['1', 'true', 't', 'yes', 'y', 'click', 'clicked', 'converted', 'positive'];

/**
 * Picks the label: `wanted` when given, else a well-known name holding 0/1, else the first 0/1
 * column, else a well-known name with two values (a yes/no label, mapped with `positive`).
 */
function pickLabel(
  names: readonly string[],
  profiles: ReadonlyMap<string, Profile>,
  wanted?: string,
): string | null {
  if (wanted !== undefined) return names.includes(wanted) ? wanted : null;
  const kind = (n: string) => profiles.get(n)?.kind;
  const known = (n: string) => LABEL_NAMES.includes(n.toLowerCase());
  return (
    names.find((n) => known(n) && kind(n) === 'binary') ??
    names.find((n) => kind(n) === 'binary') ??
    names.find((n) => known(n) && distinctOf(profiles.get(n) as Profile) === 2) ??
    null
  );
}

function keyOf(v: unknown): string {
  return v instanceof Date ? String(v.getTime()) : String(v);
}

function distinctOf(p: Profile): number {
  return new Set(p.present.map(keyOf)).size;
}

/**
 * The label's values as 0/1 (NaN where missing or unreadable), and the `positive` mapping when
 * the column is not 0/1: the given one, else a value that reads as positive (yes, true, …).
 */
function labelValues(
  raw: readonly unknown[],
  positiveGiven: readonly string[] | undefined,
): { y: number[]; positive?: string[]; problem?: string } {
  const distinct = [...new Set(raw.filter((v) => !isMissing(v)).map(keyOf))];
  const binary = raw.every((v) => isMissing(v) || typeof checkLabel(v) === 'number');
  let positive = positiveGiven === undefined ? undefined : [...positiveGiven];
  let problem: string | undefined;
  if (positive === undefined && !binary) {
    const guess = distinct.filter((d) => POSITIVE_WORDS.includes(d.toLowerCase()));
    const shown = distinct
      .slice(0, 5)
      .map((d) => `'${d}'`)
      .join(', ');
    if (distinct.length === 2 && guess.length === 1) {
      positive = guess;
      problem = `is not 0/1 (values ${shown}): the suggestion reads '${guess[0]}' as a click (label.positive); check it`;
    } else {
      problem = `is not 0/1 (values ${shown}${distinct.length > 5 ? ', …' : ''}): say which values are clicks with --positive or label: {column, positive: [...]}`;
    }
  }
  const set = positive === undefined ? undefined : new Set(positive);
  const y = raw.map((v) => {
    if (isMissing(v)) return NaN;
    if (set !== undefined) return set.has(keyOf(v)) ? 1 : 0;
    const l = checkLabel(v);
    return typeof l === 'number' ? l : NaN;
  });
  return {
    y,
    ...(positive === undefined ? {} : { positive }),
    ...(problem === undefined ? {} : { problem }),
  };
}

/** Event time: `wanted`, else the timestamp column with the fewest nulls (ties: an event-like name). */
function pickEventTime(candidates: readonly { name: string; nullRate: number }[]): string | null {
  const named = (n: string) => (/event|^ts$|timestamp|^time$|click_?time/i.test(n) ? 0 : 1);
  const best = [...candidates].sort(
    (a, b) => a.nullRate - b.nullRate || named(a.name) - named(b.name),
  )[0];
  return best?.name ?? null;
}

/** Options of {@link inspectSample}. */
export interface InspectSampleOptions {
  /** The label column. @default a well-known name (label, click, …), else the first 0/1 column */
  label?: string;
  /** Label values that mean a click, for a label that is not 0/1. */
  positive?: string[];
  /** The event-time column. @default the timestamp column with the fewest nulls */
  time?: string;
}

/** Builds the report of a sample (pure: the tests and the CLI share it). */
export function inspectSample(sample: FileSample, opts: InspectSampleOptions = {}): InspectReport {
  const sampled = Math.max(0, ...[...sample.values.values()].map((v) => v.length));
  const names = sample.columns.map((c) => c.name);
  const profiles = new Map(
    sample.columns.map((c) => [
      c.name,
      profile(c.name, c.fileType, sample.values.get(c.name) ?? []),
    ]),
  );
  const label = pickLabel(names, profiles, opts.label);
  const warnings: string[] = [];
  const labels = label === null ? null : labelValues(sample.values.get(label) ?? [], opts.positive);
  if (label !== null && labels?.problem !== undefined) {
    warnings.push(`label '${label}' ${labels.problem}`);
  }
  const nullRateOf = (name: string): number =>
    sampled === 0 ? 0 : 1 - (profiles.get(name) as Profile).present.length / sampled;
  const leaks = new Map<string, string>();
  if (labels !== null) {
    for (const name of names) {
      if (name === label) continue;
      const raw = sample.values.get(name) ?? [];
      const p = profiles.get(name) as Profile;
      const missing = raw.map(isMissing);
      const continuous =
        p.kind === 'number' ||
        p.kind === 'timestamp' ||
        (p.kind === 'integer' && distinctOf(p) > 20);
      const keys = continuous
        ? quantileBins(
            raw.map((v) =>
              isMissing(v) ? null : v instanceof Date ? v.getTime() : (numeric(v) ?? epochOf(v)),
            ),
          )
        : raw.map((v) => (isMissing(v) ? undefined : keyOf(v)));
      const found = findLeak(labels.y, missing, (i) => keys[i]);
      if (found !== null) leaks.set(name, found.reason);
    }
  }
  const times = names.filter(
    (n) => n !== label && profiles.get(n)?.kind === 'timestamp' && !leaks.has(n),
  );
  let eventTime: string | null;
  if (opts.time !== undefined) {
    if (!names.includes(opts.time)) {
      throw new ConfigError(`--time: no column '${opts.time}' (columns: ${names.join(', ')})`);
    }
    if (profiles.get(opts.time)?.kind !== 'timestamp') {
      throw new ConfigError(
        `--time: column '${opts.time}' does not hold timestamps in the sample (it looks ${profiles.get(opts.time)?.kind ?? 'empty'}; epoch numbers need a time-like name)`,
      );
    }
    eventTime = opts.time;
  } else {
    eventTime = pickEventTime(times.map((name) => ({ name, nullRate: nullRateOf(name) })));
  }

  const dense: FeatureSpecInput['dense'] = [];
  const sparse: FeatureSpecInput['sparse'] = [];
  const columns: ColumnReport[] = sample.columns.map(({ name, fileType }) => {
    const p = profiles.get(name) as Profile;
    const distinct = distinctOf(p);
    const report = (role: ColumnRole, reason: string, leak = false): ColumnReport => ({
      name,
      fileType,
      kind: p.kind,
      nullRate: nullRateOf(name),
      distinct,
      role,
      reason,
      leak,
      use: `${role}: ${reason}`,
    });
    if (name === label) {
      return report(
        'label',
        labels?.positive === undefined ? '0/1' : `1 when ${labels.positive.join(' or ')}`,
      );
    }
    if (p.kind === 'empty') return report('dropped', 'no values in the sample');
    if (distinct === 1) return report('dropped', 'one value in the sample');
    const leak = leaks.get(name);
    if (leak !== undefined && name !== opts.time) return report('dropped', leak, true);
    if (p.kind === 'timestamp') {
      if (name !== eventTime) {
        return report(
          'dropped',
          `likely leak: a timestamp other than the event time '${eventTime ?? '?'}' is often recorded after the click (a conversion, an update); --time ${name} makes it the event time instead`,
          true,
        );
      }
      const time = { timeZone: 'UTC', ...(p.unit === undefined ? {} : { unit: p.unit }) };
      sparse.push(
        { name: `${name}_hour`, from: name, derive: { kind: 'hourOfDay', ...time }, buckets: 32 },
        { name: `${name}_dow`, from: name, derive: { kind: 'dayOfWeek', ...time }, buckets: 8 },
      );
      return report(
        'event time',
        `${opts.time === name ? '--time' : 'the timestamp with the fewest nulls'}; features ${name}_hour, ${name}_dow (UTC: set timeZone)`,
      );
    }
    const idLike = p.kind === 'string' || p.kind === 'integer';
    if (idLike && p.present.length >= 50 && distinct === p.present.length) {
      return report(
        'dropped',
        `unique per row in the sample (${distinct} values): an id, not a feature`,
      );
    }
    const saturated = distinct < 0.5 * p.present.length;
    if (p.kind === 'string' || p.kind === 'binary' || p.kind === 'integer') {
      // A column whose values still keep coming in the sample has more than it shows: scale up.
      const scale = saturated || sample.totalRows === undefined ? 1 : sample.totalRows / sampled;
      const buckets = bucketsFor(2 * Math.min(distinct * scale, 5_000_000));
      sparse.push({ name, buckets });
      const why =
        p.kind === 'integer' && distinct > LOW_CARDINALITY
          ? `integer with ${distinct} distinct values: an id or a code, hashed (its size means nothing)`
          : p.kind === 'integer'
            ? `integer with ${distinct} distinct values`
            : p.kind === 'binary'
              ? '0/1'
              : `text, ${distinct} distinct values`;
      return report('categorical', `${why}; ${buckets} buckets`);
    }
    const sorted = [...p.numbers].sort((a, b) => a - b);
    const nonNegative = (sorted[0] as number) >= 0;
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    const heavy = nonNegative && p99 > 10 * Math.max(p50, 1);
    dense.push({ name, transform: heavy ? 'log1p' : 'none' });
    return report(
      'dense',
      heavy ? 'a heavy-tailed non-negative number: log1p' : 'a number: transform none',
    );
  });
  for (const c of columns) {
    if (c.leak) warnings.push(`'${c.name}' left out: ${c.reason}`);
  }
  let labelInfo: InspectReport['label'] = null;
  if (label !== null && labels !== null) {
    const ls = labels.y.filter((l) => !Number.isNaN(l));
    labelInfo = {
      name: label,
      rate: ls.length === 0 ? 0 : ls.reduce((a, b) => a + b, 0) / ls.length,
      ...(labels.positive === undefined ? {} : { positive: labels.positive }),
    };
  }
  const labelSpec =
    label === null || labels?.positive === undefined
      ? label
      : { column: label, positive: labels.positive };
  const features = labelSpec === null ? null : { label: labelSpec, dense, sparse };
  // The suggestion must be a valid spec; a failure here is a bug in the rules above.
  if (features !== null) FeatureSpec.parse(features);
  const { split, splitNote } = timeSplit(sample, eventTime);
  const eventUnit = eventTime === null ? undefined : profiles.get(eventTime)?.unit;
  const eventMs = (eventTime === null ? [] : (sample.values.get(eventTime) ?? []))
    .map((v) => (isMissing(v) ? null : timeMs(v, eventUnit)))
    .filter((t): t is number => t !== null);
  if (labels !== null && eventTime !== null) {
    const times = (sample.values.get(eventTime) ?? []).map((v) =>
      isMissing(v) ? null : timeMs(v, eventUnit),
    );
    const shift = baseRateShift(times, labels.y);
    if (shift !== null) warnings.push(shift);
  }
  const suggested = suggestTimeSplit(eventTime, eventUnit, eventMs);
  return {
    path: sample.path,
    format: sample.format,
    rows: sample.totalRows ?? null,
    sampledRows: sampled,
    columns,
    label: labelInfo,
    eventTime,
    warnings,
    source: { kind: sample.format, path: sample.path, ...(sample.csv ?? {}) },
    features,
    split,
    splitNote,
    timeSplit: suggested.split,
    timeSplitNote: suggested.note,
  };
}

/**
 * The 80/10/10 split by row position, when the sampled event times never go back (a log written
 * as events happen): then position order is time order, and the test rows are the newest.
 */
function timeSplit(
  sample: FileSample,
  eventTime: string | null,
): { split: InspectReport['split']; splitNote: string } {
  if (eventTime === null) {
    return { split: null, splitNote: 'no event time: hold out a test set yourself' };
  }
  const n = sample.totalRows;
  if (n === undefined || n < 30) {
    return { split: null, splitNote: 'row count unknown: split by time yourself' };
  }
  let last = -Infinity;
  for (const v of sample.values.get(eventTime) ?? []) {
    if (isMissing(v)) continue;
    const t = v instanceof Date ? v.getTime() : (numeric(v) ?? epochOf(v));
    if (t === null) continue;
    if (t < last) {
      return {
        split: null,
        splitNote: `the rows are not in '${eventTime}' order: sort them by it, or split by time yourself`,
      };
    }
    last = t;
  }
  const trainEnd = Math.floor(0.8 * n);
  const testStart = Math.floor(0.9 * n);
  return {
    split: {
      train: { offset: 0, limit: trainEnd },
      validation: { offset: trainEnd, limit: testStart - trainEnd },
      test: { offset: testStart },
    },
    splitNote: `the rows are in '${eventTime}' order (in the sample): the oldest 80% train, the next 10% validation, the newest 10% test`,
  };
}

/** Epoch ms of a sampled timestamp cell (a date, an epoch number in `unit`, ISO text), else null. */
function timeMs(v: unknown, unit: 's' | 'ms' | undefined): number | null {
  if (v instanceof Date) return v.getTime();
  const n = numeric(v);
  if (n !== null) return n * (unit === 'ms' ? 1 : 1000);
  return epochOf(v);
}

/** Epoch ms of an ISO text timestamp, else null. */
function epochOf(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/** Options of {@link inspectFile}. */
export interface InspectOptions extends InspectSampleOptions {
  /** Rows sampled. @default 10000 */
  maxRows?: number;
}

/** Samples a file with the sampler for its format and reports on it. */
export async function inspectFile(
  path: string,
  samplers: Samplers,
  opts: InspectOptions = {},
): Promise<InspectReport> {
  const format = await detectFormat(path);
  const sampler = samplers[format];
  if (sampler === undefined) {
    throw new Error(`inspect: no ${format} sampler in this build (${path})`);
  }
  const sample = await sampler(path, opts.maxRows ?? 10_000);
  const { maxRows: _maxRows, ...sampleOpts } = opts;
  return inspectSample(sample, sampleOpts);
}
