/**
 * Does a column give the label away? `agp inspect` leaves such a column out of its suggestion:
 * a value recorded after the click (a conversion time that is null unless the label is 1, a
 * revenue that is 0 unless it is) trains to a perfect test score and is worthless in
 * production, where it is not known yet when the model scores.
 *
 * The measure is the uncertainty coefficient U = I(X; Y) / H(Y): the share of the label's
 * entropy that X explains, 0 for an unrelated column and 1 for one that determines the label.
 * X is the column's nullness, or its value (numbers cut into at most {@link MAX_BINS} quantile
 * groups; values seen in fewer than {@link MIN_BIN_ROWS} sampled rows pooled into one group, so
 * an id column, one value per row, does not "explain" the label by memorising it).
 */

/** U at or above this flags a leak: no honest feature of a click log comes near it. */
export const LEAK_THRESHOLD = 0.5;
/** Value groups a column is cut into for the value test. */
const MAX_BINS = 20;
/** Values seen in fewer sampled rows than this are pooled into one group. */
const MIN_BIN_ROWS = 30;
/** The value test is skipped for a column with more groups than this (too little support). */
const MAX_GROUPS = 200;

/** Entropy (nats) of a 0/1 variable with `pos` positives among `n`. */
function entropy(pos: number, n: number): number {
  if (n === 0 || pos === 0 || pos === n) return 0;
  const p = pos / n;
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
}

/** U = I(X; Y) / H(Y) of groups given as (rows, positives) pairs; NaN when H(Y) = 0. */
export function uncertaintyCoefficient(groups: readonly { n: number; pos: number }[]): number {
  let n = 0;
  let pos = 0;
  for (const g of groups) {
    n += g.n;
    pos += g.pos;
  }
  const h = entropy(pos, n);
  if (h === 0) return NaN;
  let conditional = 0;
  for (const g of groups) conditional += (g.n / n) * entropy(g.pos, g.n);
  return (h - conditional) / h;
}

/** Why a column looks like a leak, or null. */
export interface LeakFinding {
  /** The uncertainty coefficient that tripped. */
  u: number;
  /** One line for the user. */
  reason: string;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;
}

/**
 * Checks one column against 0/1 labels (`labels[i]` NaN when row i has no usable label).
 * `missing[i]` says whether the column is null in row i; `key(i)` gives its value as a group
 * key (numbers already binned by the caller when continuous), undefined when missing.
 */
export function findLeak(
  labels: readonly number[],
  missing: readonly boolean[],
  key: (i: number) => string | undefined,
): LeakFinding | null {
  const rows = labels.map((_, i) => i).filter((i) => !Number.isNaN(labels[i] as number));
  const nullGroups = [true, false].map((isNull) => {
    const members = rows.filter((i) => missing[i] === isNull);
    return { n: members.length, pos: members.filter((i) => labels[i] === 1).length };
  });
  const uNull = uncertaintyCoefficient(nullGroups);
  if (uNull >= LEAK_THRESHOLD) {
    const [withNull, withValue] = nullGroups as [
      { n: number; pos: number },
      { n: number; pos: number },
    ];
    const rateNull = withNull.n === 0 ? 0 : withNull.pos / withNull.n;
    const rateValue = withValue.n === 0 ? 0 : withValue.pos / withValue.n;
    return {
      u: uNull,
      reason:
        `likely leak: whether it is null gives the label away (label rate ${pct(rateValue)} where ` +
        `it has a value, ${pct(rateNull)} where it is null; U = ${uNull.toFixed(2)}): a value ` +
        'recorded after the click is not known when the model scores',
    };
  }
  const groups = new Map<string, { n: number; pos: number }>();
  for (const i of rows) {
    const k = key(i) ?? '\u0000null';
    const g = groups.get(k) ?? { n: 0, pos: 0 };
    g.n++;
    if (labels[i] === 1) g.pos++;
    groups.set(k, g);
  }
  // Rare values pool into one group: an id seen once per row must not "explain" the label.
  const rare = { n: 0, pos: 0 };
  const values = [...groups.values()].filter((g) => {
    if (g.n >= MIN_BIN_ROWS) return true;
    rare.n += g.n;
    rare.pos += g.pos;
    return false;
  });
  if (rare.n > 0) values.push(rare);
  if (values.length > MAX_GROUPS) return null;
  const uValue = uncertaintyCoefficient(values);
  if (uValue >= LEAK_THRESHOLD) {
    return {
      u: uValue,
      reason:
        `likely leak: its value nearly determines the label (U = ${uValue.toFixed(2)} of the ` +
        "label's entropy): a copy of the label or a value recorded after the click",
    };
  }
  return null;
}

/**
 * Cuts numbers into at most {@link MAX_BINS} groups at their sample quantiles; equal numbers
 * share a group. Returns each number's group key.
 */
export function quantileBins(xs: readonly (number | null)[]): (string | undefined)[] {
  const sorted = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const cuts = [
    ...new Set(
      Array.from(
        { length: MAX_BINS - 1 },
        (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / MAX_BINS)] as number,
      ),
    ),
  ];
  return xs.map((x) => {
    if (x === null) return undefined;
    let b = 0;
    while (b < cuts.length && x >= (cuts[b] as number)) b++;
    return String(b);
  });
}
