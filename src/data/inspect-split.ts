import type { SplitConfigInput } from '../../schemas/split';

/**
 * The time split `agp inspect` suggests (`data.split`): the newest 10% of the rows by event time
 * test, the 10% before them validation, train every row before. Shares of the rows, which the
 * split source counts on the whole file, so a sample that is only the file's head (or a row
 * rate that changes over time) does not move them.
 */
export interface SuggestedTimeSplit {
  split: SplitConfigInput | null;
  note: string;
}

/** Share of the rows the test (and the validation) part gets. */
const HELD_OUT = 0.1;

/** Suggests `{by, unit?, test: 'last 10%', validation: 'last 10%'}` from the sampled event times (epoch ms). */
export function suggestTimeSplit(
  eventTime: string | null,
  unit: 's' | 'ms' | undefined,
  times: readonly number[],
): SuggestedTimeSplit {
  if (eventTime === null) {
    return {
      split: null,
      note: 'no event time column, so no time split; a hash split (data.split.hash) needs a key column such as a user id, which only you can name: add one, or hold out the newest rows as data.test with offset/limit',
    };
  }
  if (new Set(times).size < 2) {
    return { split: null, note: `'${eventTime}' has one value in the sample: no time to split by` };
  }
  const pct = `${100 * HELD_OUT}%`;
  return {
    split: {
      by: eventTime,
      ...(unit === undefined ? {} : { unit }),
      test: `last ${pct}`,
      validation: `last ${pct}`,
    },
    note: `split by the event time '${eventTime}': test = the newest ${pct} of the rows, validation = the ${pct} before them, train = every row before (rows at one instant stay together)`,
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
