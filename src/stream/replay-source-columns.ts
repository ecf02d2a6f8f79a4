import { eventFields, FeatureSpec, sourceOf, type EpochUnit } from '../../schemas/feature-spec';
import { BadValue, epochMillis } from '../data/derive';
import type { BatchSource } from '../data/source';
import { DataError } from '../errors';
import type { RawRow } from './replay';
import { rawBatchToRows, type ReplayRows } from './replay-sources';

/**
 * Replay of files read with a spec that derives features (hour of day, weekday, buckets,
 * crosses): the events carry the *source columns* the spec reads from, as the files hold them,
 * and the consumer derives the features as the file reader does (one implementation,
 * src/data/derive.ts). Sending the derived values instead would make the spec reject its own
 * events ("missing feature click_time; unknown feature hour").
 */

/**
 * A spec that reads exactly the columns a spec's events carry, each as it is (no transform, no
 * derivation): the dense features' source columns as numbers, every other column as a raw
 * categorical value.
 */
export function sourceColumnSpec(spec: FeatureSpec): FeatureSpec {
  const fields = eventFields(spec);
  return FeatureSpec.parse({
    label: spec.label,
    dense: fields.dense.map((name) => ({ name, transform: 'none' })),
    // Buckets are never used: these values are sent, not hashed.
    sparse: fields.sparse.map((name) => ({ name, buckets: 1 })),
  });
}

/** The column events take their times from, and the unit of its numbers. */
export interface EventTimeColumn {
  column: string;
  /** @default 's' (as a derived time feature's) */
  unit: EpochUnit;
}

/**
 * The spec's event-time column: the source column of its first time feature (`hourOfDay` or
 * `dayOfWeek`), with that feature's unit; null when the spec has none.
 */
export function specEventTimeColumn(spec: FeatureSpec): EventTimeColumn | null {
  for (const f of [...spec.dense, ...spec.sparse]) {
    if (f.derive?.kind === 'hourOfDay' || f.derive?.kind === 'dayOfWeek') {
      return { column: sourceOf(f), unit: f.derive.unit };
    }
  }
  return null;
}

/**
 * Rows to replay from a file source opened with {@link sourceColumnSpec}: each event carries
 * the source columns, and with a `time` column its event time is that column's value (epoch ms;
 * the column is sent as ISO 8601 text when the file stores a date, so the consumer reads the
 * same instant).
 *
 * @throws DataError naming the row when its event-time cell is empty or not a time.
 */
export function sourceColumnReplayRows(
  source: BatchSource,
  time: EventTimeColumn | null,
  startRow = 0,
): ReplayRows {
  if (source.rawBatches === undefined) {
    throw new TypeError(`${source.describe()} has no raw rows to replay source columns from`);
  }
  const readRaw = source.rawBatches.bind(source);
  const spec = source.spec;
  if (time !== null && ![...spec.dense, ...spec.sparse].some((f) => f.name === time.column)) {
    throw new DataError(`event-time column '${time.column}' is not a column the spec reads`);
  }
  async function* rows(): AsyncGenerator<RawRow> {
    let index = startRow;
    for await (const raw of readRaw({ startRow })) {
      for (const row of rawBatchToRows(raw, spec)) {
        index++;
        if (time === null) {
          yield row;
          continue;
        }
        const cell = time.column in row.sparse ? row.sparse[time.column] : row.dense[time.column];
        // A date read from a file arrives as its string form; Date.parse reads it back.
        const parsed =
          typeof cell === 'string' && !/^[+-]?\d/.test(cell) && !Number.isNaN(Date.parse(cell))
            ? Date.parse(cell)
            : epochMillis(cell, time.unit);
        if (parsed === null || parsed instanceof BadValue) {
          throw new DataError(
            `${source.describe()}, row ${index}: event-time column '${time.column}' ` +
              (parsed === null ? 'is empty' : `is not a time: ${parsed.reason}`),
          );
        }
        const sparse =
          time.column in row.sparse && typeof cell === 'string' && !/^[+-]?\d/.test(cell)
            ? { ...row.sparse, [time.column]: new Date(parsed).toISOString() }
            : row.sparse;
        yield { ...row, sparse, eventTime: parsed };
      }
    }
  }
  return {
    spec,
    rows: rows(),
    describe:
      `${source.describe()} from row ${startRow} (source columns` +
      (time ? `, event times from '${time.column}')` : ')'),
  };
}
