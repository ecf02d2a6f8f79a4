import { FeatureSpec, type FeatureSpecInput } from '../../schemas/feature-spec';
import { checkLabel } from './column-decode';
import { epochMillis } from './derive';
import { detectFormat, type FileSample, type Samplers } from './file-sample';

/**
 * What `agp inspect` reports about a data file: its columns with their types as stored and as
 * inferred from a sample, the label rate, and a feature spec to start from.
 */

/** What a column looks like in the sample. */
export type ColumnKind = 'binary' | 'integer' | 'number' | 'timestamp' | 'string' | 'empty';

/** One column's figures over the sample. */
export interface ColumnReport {
  name: string;
  fileType: string;
  kind: ColumnKind;
  /** Missing values / sampled rows. */
  nullRate: number;
  /** Distinct non-missing values in the sample. */
  distinct: number;
  /** How the suggested spec uses it (or why it leaves it out). */
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
  label: { name: string; rate: number } | null;
  /** A data-source config that reads the file (kind, path, and for CSV delimiter/header). */
  source: Record<string, unknown>;
  /** A FeatureSpec to start from; null when no label column was found. */
  features: FeatureSpecInput | null;
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

/** Epoch unit whose dates fall in 2000..2100 for all of `xs`, if any. */
function epochUnit(xs: readonly number[]): 's' | 'ms' | null {
  const lo = Date.UTC(2000, 0, 1);
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

/** Picks the label: `wanted` when given, else a well-known name, else the first binary column. */
function pickLabel(
  names: readonly string[],
  kinds: ReadonlyMap<string, ColumnKind>,
  wanted?: string,
): string | null {
  if (wanted !== undefined) return names.includes(wanted) ? wanted : null;
  const known = names.find(
    (n) => LABEL_NAMES.includes(n.toLowerCase()) && kinds.get(n) === 'binary',
  );
  return known ?? names.find((n) => kinds.get(n) === 'binary') ?? null;
}

/** Builds the report of a sample (pure: the tests and the CLI share it). */
export function inspectSample(sample: FileSample, opts: { label?: string } = {}): InspectReport {
  const sampled = Math.max(0, ...[...sample.values.values()].map((v) => v.length));
  const profiles = new Map(
    sample.columns.map((c) => [
      c.name,
      profile(c.name, c.fileType, sample.values.get(c.name) ?? []),
    ]),
  );
  const kinds = new Map([...profiles].map(([n, p]) => [n, p.kind]));
  const label = pickLabel(
    sample.columns.map((c) => c.name),
    kinds,
    opts.label,
  );
  const dense: FeatureSpecInput['dense'] = [];
  const sparse: FeatureSpecInput['sparse'] = [];
  const columns: ColumnReport[] = sample.columns.map(({ name, fileType }) => {
    const p = profiles.get(name) as Profile;
    const distinct = new Set(p.present.map((v) => (v instanceof Date ? v.getTime() : String(v))))
      .size;
    const report = (use: string): ColumnReport => ({
      name,
      fileType,
      kind: p.kind,
      nullRate: sampled === 0 ? 0 : 1 - p.present.length / sampled,
      distinct,
      use,
    });
    if (name === label) return report('label');
    if (p.kind === 'empty') return report('left out: no values in the sample');
    if (distinct === 1) return report('left out: one value in the sample');
    if (p.kind === 'timestamp') {
      const time = { timeZone: 'UTC', ...(p.unit === undefined ? {} : { unit: p.unit }) };
      sparse.push(
        { name: `${name}_hour`, from: name, derive: { kind: 'hourOfDay', ...time }, buckets: 32 },
        { name: `${name}_dow`, from: name, derive: { kind: 'dayOfWeek', ...time }, buckets: 8 },
      );
      return report(`sparse: ${name}_hour, ${name}_dow (UTC; set timeZone)`);
    }
    const saturated = distinct < 0.5 * p.present.length;
    if (p.kind === 'string' && !saturated && distinct === p.present.length && distinct > 1000) {
      return report('left out: unique per row (an id?)');
    }
    const lowCard = p.kind === 'binary' || (p.kind === 'integer' && distinct <= LOW_CARDINALITY);
    if (p.kind === 'string' || lowCard) {
      // A column whose values still keep coming in the sample has more than it shows: scale up.
      const scale = saturated || sample.totalRows === undefined ? 1 : sample.totalRows / sampled;
      const buckets = bucketsFor(2 * Math.min(distinct * scale, 5_000_000));
      sparse.push({ name, buckets });
      return report(`sparse, ${buckets} buckets`);
    }
    const sorted = [...p.numbers].sort((a, b) => a - b);
    const nonNegative = (sorted[0] as number) >= 0;
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    const heavy = nonNegative && p99 > 10 * Math.max(p50, 1);
    dense.push({ name, transform: heavy ? 'log1p' : 'none' });
    return report(`dense, ${heavy ? 'log1p' : 'none'}`);
  });
  let labelInfo: InspectReport['label'] = null;
  if (label !== null) {
    const ls = (sample.values.get(label) ?? [])
      .map(checkLabel)
      .filter((l) => typeof l === 'number');
    labelInfo = {
      name: label,
      rate: ls.length === 0 ? 0 : ls.reduce((a, b) => a + b, 0) / ls.length,
    };
  }
  const features = label === null ? null : { label, dense, sparse };
  // The suggestion must be a valid spec; a failure here is a bug in the rules above.
  if (features !== null) FeatureSpec.parse(features);
  return {
    path: sample.path,
    format: sample.format,
    rows: sample.totalRows ?? null,
    sampledRows: sampled,
    columns,
    label: labelInfo,
    source: { kind: sample.format, path: sample.path, ...(sample.csv ?? {}) },
    features,
  };
}

/** Options of {@link inspectFile}. */
export interface InspectOptions {
  /** The label column. @default 'label', 'click', … or the first 0/1 column */
  label?: string;
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
  return inspectSample(sample, opts.label === undefined ? {} : { label: opts.label });
}
