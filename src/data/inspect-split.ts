import type { SplitConfigInput } from '../../schemas/split';

/**
 * The time split `agp inspect` suggests (`data.split`): the test part is the newest stretch of
 * the event-time span that holds about 10% of the rows, validation the stretch before it with
 * about 10% more, train the rest. Shares of the span (`last N%`), not durations, because the
 * sample may not cover the file's whole span; the shares come from the sampled times, so a file
 * whose row rate changes over time gets other row shares (the note says so).
 */
export interface SuggestedTimeSplit {
  split: SplitConfigInput | null;
  note: string;
}

/** Share of the rows the test (and the validation) part should get. */
const HELD_OUT = 0.1;

/**
 * Suggests `{by, unit?, test: 'last N%', validation: 'last M%'}` from the event times (epoch ms)
 * of the sample. `wholeFile`: the sample is every row of the file.
 */
export function suggestTimeSplit(
  eventTime: string | null,
  unit: 's' | 'ms' | undefined,
  times: readonly number[],
  wholeFile: boolean,
): SuggestedTimeSplit {
  if (eventTime === null) {
    return {
      split: null,
      note: 'no event time column, so no time split; a hash split (data.split.hash) needs a key column such as a user id, which only you can name: add one, or hold out the newest rows as data.test with offset/limit',
    };
  }
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const min = sorted[0];
  const max = sorted[n - 1];
  if (min === undefined || max === undefined || n < 30 || !(max > min)) {
    return {
      split: null,
      note: `too few distinct '${eventTime}' values in the sample to split by time`,
    };
  }
  const span = max - min;
  const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))] as number;
  // Whole percents, rounded up so each part holds at least its share of the sampled rows.
  const share = (from: number, to: number): number =>
    Math.min(45, Math.max(1, Math.ceil((100 * (to - from)) / span)));
  const test = share(at(1 - HELD_OUT), max);
  const testStart = max - (test / 100) * span;
  const validationStart = sorted.filter((t) => t < testStart);
  const vq = validationStart[Math.floor((1 - HELD_OUT / (1 - HELD_OUT)) * validationStart.length)];
  const validation = vq === undefined ? test : share(vq, testStart);
  const rowsIn = (lo: number, hi: number): number => sorted.filter((t) => t >= lo && t < hi).length;
  const testRows = rowsIn(testStart, Infinity);
  const valRows = rowsIn(testStart - (validation / 100) * span, testStart);
  const pct = (k: number): string => `${((100 * k) / n).toFixed(0)}%`;
  return {
    split: {
      by: eventTime,
      ...(unit === undefined ? {} : { unit }),
      test: `last ${test}%`,
      validation: `last ${validation}%`,
    },
    note:
      `split by the event time '${eventTime}': test = the newest ${test}% of its span (${pct(testRows)} of the sampled rows), ` +
      `validation = the ${validation}% before it (${pct(valRows)}), train = every row before` +
      (wholeFile ? '' : '; shares estimated from the sample, check them on the whole file'),
  };
}

/**
 * A warning when the label rate of the newest ~10% of the sampled rows (by event time) differs
 * from the older rows' by more than chance (4 standard errors) and by more than 10% of it: the
 * test rows of a time split then have another base rate than the training rows, which the
 * test-rate NE hides and the standard NE (training rate) shows. Null otherwise.
 */
export function baseRateShift(
  times: readonly (number | null)[],
  labels: readonly number[],
): string | null {
  const rows = times
    .map((t, i) => ({ t, y: labels[i] }))
    .filter((r): r is { t: number; y: number } => r.t !== null && (r.y === 0 || r.y === 1))
    .sort((a, b) => a.t - b.t);
  const n = rows.length;
  const cut = Math.floor(n * (1 - HELD_OUT));
  if (n < 200 || cut < 1 || cut >= n) return null;
  const rate = (xs: readonly { y: number }[]): number =>
    xs.reduce((a, r) => a + r.y, 0) / xs.length;
  const older = rate(rows.slice(0, cut));
  const newest = rate(rows.slice(cut));
  const pooled = rate(rows);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / cut + 1 / (n - cut)));
  if (!(Math.abs(newest - older) > 4 * se && Math.abs(newest - older) > 0.1 * older)) return null;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return `the base rate shifts over time: ${pct(newest)} positive in the newest 10% of the sampled rows, ${pct(older)} before; test figures of a time split are on another rate than training (the standard NE divides by the training rate, so it shows the shift)`;
}
