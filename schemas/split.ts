import { z } from 'zod';
import { EpochUnit } from './feature-spec';

/** `last 1d`, `last 6h`, `last 30m`, `last 90s`, or `last 10%` (of the source's rows, by time). */
export const LAST_PATTERN = /^last\s+(\d+(?:\.\d+)?)\s*(d|h|m|s|%)$/;

/** A timestamp bound: epoch number in the split's `unit`, or ISO 8601 text (UTC without an offset). */
const Instant = z.union([z.number().finite(), z.string().min(1)]);

/**
 * Which rows of the time column a part holds:
 * - `"last 1d"` (also `h`, `m`, `s`): the newest span of that length, ending at the newest row
 *   of the source (for `validation`: ending where the test part starts);
 * - `"last 10%"`: that share of the source's rows, by time (the newest rows; for `validation`
 *   the rows just before the test part): it starts at the time of the row that many rows from
 *   the end, so rows at that instant all belong to it. The split source reads every row's time
 *   once and sorts them (8 bytes a row);
 * - `{from, to}`: `from <= t < to`.
 * A row exactly at a boundary belongs to the later part (a test row at the test's start).
 */
export const TimeRange = z.union([
  z.string().regex(LAST_PATTERN, {
    message: "expected 'last <n><d|h|m|s|%>' (e.g. 'last 1d', 'last 6h', 'last 10%') or {from, to}",
  }),
  z.strictObject({ from: Instant, to: Instant }),
]);
export type TimeRange = z.infer<typeof TimeRange>;

/** A share of the rows, for a hash split. */
const Fraction = z.number().gt(0).lt(1);

/**
 * How one source (`data.train` without `data.test`) is split into train, validation and test
 * rows. Either by time — `by` names the event-time column; the test part is the newest rows,
 * validation the span before it, train every row before both (rows after or between the ranges
 * are in no part) — or by a stable hash of a key column: `hash` names it, and FNV-1a of the
 * key's text, read as a number in [0, 1), puts a row in test below `test`, in validation below
 * `test + validation`, else in train; the same key is in the same part on every run and host.
 * Only sources whose columns have names (CSV, Parquet, Arrow) can be split.
 */
export const SplitConfig = z
  .strictObject({
    /** The event-time column of a time split. */
    by: z.string().min(1).optional(),
    /** Unit of a numeric time column (epoch seconds, ms, µs, ns). @default 's' */
    unit: EpochUnit.optional(),
    /** The key column of a hash split (a user, session or device id). */
    hash: z.string().min(1).optional(),
    /** The test part: a {@link TimeRange} with `by`, a fraction in (0, 1) with `hash`. */
    test: z.union([TimeRange, Fraction]),
    /** The validation part (early stopping only), as `test`. */
    validation: z.union([TimeRange, Fraction]).optional(),
  })
  .superRefine((s, ctx) => {
    const either = (s.by === undefined) === (s.hash === undefined);
    if (either) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: "give either 'by' (a time column) or 'hash' (a key column), not both or neither",
      });
      return;
    }
    const isTime = s.by !== undefined;
    for (const part of ['test', 'validation'] as const) {
      const v = s[part];
      if (v === undefined) continue;
      if (isTime && typeof v === 'number') {
        ctx.addIssue({
          code: 'custom',
          path: [part],
          message: `a time split takes 'last 1d', 'last 10%' or {from, to}, not a number (a fraction is for 'hash')`,
        });
      }
      if (!isTime && typeof v !== 'number') {
        ctx.addIssue({
          code: 'custom',
          path: [part],
          message: 'a hash split takes a fraction of the rows in (0, 1), e.g. 0.1',
        });
      }
    }
    if (!isTime && s.unit !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: "'unit' is for a time split ('by')",
      });
    }
    if (!isTime && typeof s.test === 'number' && typeof s.validation === 'number') {
      if (s.test + s.validation >= 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['validation'],
          message: `test + validation must leave rows to train on (${s.test} + ${s.validation} >= 1)`,
        });
      }
    }
  });
export type SplitConfig = z.infer<typeof SplitConfig>;
export type SplitConfigInput = z.input<typeof SplitConfig>;
