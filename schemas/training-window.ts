import { z } from 'zod';
import { EventValidation } from './event-validation';

/**
 * Data windows of a scheduled retraining, relative to the run's nominal time (the Schedule's
 * scheduled start, not the wall clock: a catch-up run after an outage trains the window it was
 * scheduled for). A window is resolved once, in an activity, into concrete sources (Kafka offset
 * ranges or a file list) and a {@link ResolvedWindow} that goes into the version's manifest.
 */

const DURATION = /^([+-]?)(\d+(?:\.\d+)?)(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a relative time such as `-7d`, `0d`, `-90m`, `1h`. */
export function relativeMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new RangeError(`not a relative time: '${text}'`);
  const ms = Number(m[2]) * UNIT_MS[m[3] as keyof typeof UNIT_MS];
  return m[1] === '-' ? -ms : ms;
}

/** {@link relativeMs}, or NaN for text that is not a relative time (refinements run anyway). */
function safeMs(text: string): number {
  return DURATION.test(text) ? relativeMs(text) : Number.NaN;
}

/** A time relative to the nominal time: `-7d`, `-36h`, `-90m`, `0d`. */
const RelativeTime = z
  .string()
  .regex(DURATION, 'a relative time is a signed number and a unit m, h or d, e.g. -7d or 0d');
/** A positive duration: `1h`, `30m`, `1d`. */
const Duration = z
  .string()
  .regex(/^\d+(?:\.\d+)?(m|h|d)$/, 'a duration is a number and a unit m, h or d, e.g. 1h')
  .refine((d) => !(safeMs(d) <= 0), 'a duration must be positive');

/**
 * An IANA time zone name (`UTC`, `Europe/Berlin`); an unknown one is refused with its value
 * (`unknown time zone 'Mars/Base'`), so the error names the field and what was wrong in it.
 */
export const IanaTimeZone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `unknown time zone '${tz}' (an IANA name, e.g. UTC or Europe/Berlin)`,
    });
  }
});

/** A Kafka topic name. */
const Topic = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1–249 of [A-Za-z0-9._-]');

/**
 * Events of the click topic with event time in [nominal + from, nominal + to), found with Kafka's
 * offsets-for-times (message timestamps are the events' times) and read as a bounded source with
 * the recurring phase's decoding, validation and dead-letter rules. The newest `test` of the
 * window is the test split and is never trained on.
 */
export const KafkaWindow = z
  .strictObject({
    kind: z.literal('kafka'),
    topic: Topic,
    /** @default '-7d' */
    from: RelativeTime.default('-7d'),
    /** @default '0d' (the nominal time) */
    to: RelativeTime.default('0d'),
    /** The newest slice of the window, held out as the test split. @default '1h' */
    test: Duration.default('1h'),
    /** Event-time bounds and de-duplication, as in the recurring phase. @default its defaults */
    eventValidation: EventValidation.optional(),
    /** Where invalid events go. @default `<topic>.dlq` */
    deadLetterTopic: Topic.optional(),
  })
  .refine((w) => !(safeMs(w.from) + safeMs(w.test) >= safeMs(w.to)), {
    message: "'from' + 'test' must be earlier than 'to' (the window must have a training part)",
    path: ['from'],
  });
export type KafkaWindow = z.infer<typeof KafkaWindow>;

/** The date tokens a partition template may hold. */
export const DATE_TOKENS = ['{yyyy-MM-dd}', '{yyyy}', '{MM}', '{dd}'] as const;

/**
 * Date-partitioned files: `path` is a template such as `logs/date={yyyy-MM-dd}/*.parquet`
 * (tokens `{yyyy-MM-dd}`, `{yyyy}`, `{MM}`, `{dd}`; `*` and `?` in the file name only),
 * expanded for the `days` complete calendar days before the nominal date in `timeZone`. The
 * newest `testDays` of them are the test split.
 */
export const FileWindow = z
  .strictObject({
    kind: z.enum(['parquet', 'csv', 'arrow']),
    path: z
      .string()
      .min(1)
      .refine((p) => DATE_TOKENS.some((t) => p.includes(t)), {
        message: 'the path needs a date token, e.g. logs/date={yyyy-MM-dd}/*.parquet',
      }),
    /** Days in the window, test days included. */
    days: z.number().int().positive().max(3660),
    /** IANA time zone that dates the partitions, e.g. `UTC` or `Europe/Berlin` (required: explicit). */
    timeZone: IanaTimeZone,
    /** The newest this many days are the test split. @default 1 */
    testDays: z.number().int().positive().default(1),
    /** A day with no file: `error` names it; `skip` leaves it out and counts it. @default 'error' */
    missing: z.enum(['error', 'skip']).default('error'),
    /**
     * Further fields of the file source (schemas/data-source.ts), e.g. `onInvalid`, or
     * `delimiter` and `columns` of a CSV source. @default {}
     */
    reader: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((w) => w.testDays < w.days, {
    message: "'testDays' must be fewer than 'days' (the window must have a training part)",
    path: ['testDays'],
  });
export type FileWindow = z.infer<typeof FileWindow>;

/** A data window of a scheduled retraining. */
export const TrainingWindow = z.discriminatedUnion('kind', [KafkaWindow, FileWindow]);
export type TrainingWindow = z.infer<typeof TrainingWindow>;
export type TrainingWindowInput = z.input<typeof TrainingWindow>;

const Iso = z.iso.datetime({ offset: true });

/** One partition's offsets [from, to) of a resolved Kafka window; test events start at `testFrom`. */
export const PartitionRange = z.object({
  partition: z.number().int().min(0),
  from: z.number().int().min(0),
  testFrom: z.number().int().min(0),
  to: z.number().int().min(0),
});
export type PartitionRange = z.infer<typeof PartitionRange>;

/** One file of a resolved file window. */
export const WindowFile = z.object({
  path: z.string().min(1),
  /** The partition's date (yyyy-MM-dd in the window's time zone). */
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  split: z.enum(['train', 'test']),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type WindowFile = z.infer<typeof WindowFile>;

/**
 * What a window resolved to at a nominal time: the version's manifest records it, so a run can
 * be audited and reproduced (the same offsets, or the same files by checksum).
 */
export const ResolvedWindow = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('kafka'),
    topic: Topic,
    nominalTime: Iso,
    /** Event times [from, to); test events are those from `testFrom` on. */
    from: Iso,
    testFrom: Iso,
    to: Iso,
    partitions: z.array(PartitionRange),
  }),
  z.object({
    kind: z.literal('files'),
    format: z.enum(['parquet', 'csv', 'arrow']),
    template: z.string().min(1),
    timeZone: z.string().min(1),
    nominalTime: Iso,
    /** Oldest and newest partition date of the window. */
    fromDate: z.string(),
    toDate: z.string(),
    files: z.array(WindowFile),
    /** Dates with no file, skipped by `missing: 'skip'`. */
    missingDates: z.array(z.string()),
  }),
]);
export type ResolvedWindow = z.infer<typeof ResolvedWindow>;

/** One line naming a window, for errors and memos. */
export function describeWindow(window: TrainingWindow): string {
  return window.kind === 'kafka'
    ? `kafka window ${window.from}..${window.to} of topic '${window.topic}' (test ${window.test})`
    : `${window.kind} window ${window.path}, ${window.days} days in ${window.timeZone} (test ${window.testDays})`;
}
