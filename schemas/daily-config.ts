import { z } from 'zod';
import { PublishEvery } from './publish-every';
import { RecurringOptimizer } from './recurring-optimizer';
import { TrainConfig } from './train-config';
import { IanaTimeZone, TrainingWindow } from './training-window';
import { parseOrThrow } from './zod-errors';

/**
 * `npm run schedule -- --config daily.json`: what a model's daily retraining trains on (a data
 * window relative to the nominal time), how it trains, when it runs, and when its candidate
 * takes over.
 */

/** Temporal Schedule overlap policies (what a run does while the previous one still runs). */
export const OverlapPolicy = z.enum([
  'SKIP',
  'BUFFER_ONE',
  'BUFFER_ALL',
  'CANCEL_OTHER',
  'TERMINATE_OTHER',
  'ALLOW_ALL',
]);

/** Allowed values of the five cron fields, in order. */
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const CRON_MACROS = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
];
const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';

/** Why one cron field is wrong, or null. Names (JAN, MON) are accepted in their fields. */
function cronFieldProblem(text: string, field: (typeof CRON_FIELDS)[number]): string | null {
  const names = field.name === 'month' ? MONTHS : field.name === 'day of week' ? DAYS : null;
  const atom = names ? `(?:\\d+|${names})` : '\\d+';
  const item = new RegExp(`^(?:\\*|${atom}(?:-${atom})?)(?:/\\d+)?$`, 'i');
  for (const part of text.split(',')) {
    if (!item.test(part)) return `${field.name} '${text}' is not a number, range, list or step`;
    for (const n of part.match(/\d+/g) ?? []) {
      const value = Number(n);
      if (part.includes(`/${n}`) && !part.startsWith(n)) continue;
      if (value < field.min || value > field.max) {
        return `${field.name} ${value} is out of range ${field.min}-${field.max}`;
      }
    }
  }
  return null;
}

/**
 * A standard five-field cron expression (minute hour day-of-month month day-of-week) or a macro
 * such as `@daily`. Six or seven fields (seconds, years) are refused here: Temporal would read
 * the sixth field as a year and fail with "Year is not in range [2000-2100]".
 */
export const CronExpression = z.string().superRefine((cron, ctx) => {
  const text = cron.trim();
  if (CRON_MACROS.includes(text)) return;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    ctx.addIssue({
      code: 'custom',
      message:
        `'${cron}' has ${fields.length} fields; a cron expression has 5: minute hour ` +
        `day-of-month month day-of-week, e.g. '0 3 * * *' (seconds and years are not supported)`,
    });
    return;
  }
  for (const [i, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(fields[i] as string, field);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `'${cron}': ${problem}` });
  }
});

/** When the Schedule starts a run, and what it does with late and overlapping runs. */
export const DailyScheduleSpec = z
  .strictObject({
    /** A cron expression in `timeZone`. @default '0 3 * * *' when `every` is unset */
    cron: CronExpression.optional(),
    /** An interval instead of a cron, e.g. `6h`, `1 day`. */
    every: z
      .string()
      .regex(/^\d+\s*(s|m|h|d|seconds?|minutes?|hours?|days?)$/, 'e.g. 6h or 1 day')
      .optional(),
    /** Time zone of the cron expression. @default 'UTC' */
    timeZone: IanaTimeZone.default('UTC'),
    /**
     * A run due while the previous one still runs. `BUFFER_ONE`: it starts when the previous
     * one ends (its own nominal time, so its own window); a third is dropped. Each day's window
     * is different, so skipping would lose a day; running two at once would race the hand-over.
     * @default 'BUFFER_ONE'
     */
    overlap: OverlapPolicy.default('BUFFER_ONE'),
    /**
     * How late a missed run may still start (the Temporal server was down at its time): within
     * it, the run starts when the server is back and trains its scheduled window. Older missed
     * runs are dropped: start them with `--catch-up <time>`. @default '1 day'
     */
    catchupWindow: z
      .string()
      .regex(/^\d+\s*(s|m|h|d|seconds?|minutes?|hours?|days?)$/, 'e.g. 1 day or 12h')
      .default('1 day'),
  })
  .refine((s) => !(s.cron && s.every), {
    message: "give 'cron' or 'every', not both",
    path: ['every'],
  });
export type DailyScheduleSpec = z.infer<typeof DailyScheduleSpec>;

/** A training config (schemas/train-config.ts) whose data is a window instead of train/test. */
export const DailyTrainConfig = TrainConfig.omit({ data: true, outDir: true }).extend({
  data: TrainConfig.shape.data.omit({ train: true, test: true, split: true }).extend({
    window: TrainingWindow,
  }),
});

/** The file `npm run schedule -- --config` reads. */
export const DailyConfig = z.strictObject({
  model: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a model name is [A-Za-z0-9._-], up to 128'),
  /**
   * The click topic of a recurring phase. Optional: without it the daily run judges its
   * candidate on the window's test days and promotes it in the registry, and nothing is handed
   * over; with it, a candidate that passes is handed to the recurring workflow on this topic.
   */
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1–249 of [A-Za-z0-9._-]')
    .optional(),
  /** @default daily at 03:00 UTC, BUFFER_ONE, catch-up window 1 day */
  schedule: DailyScheduleSpec.default({
    timeZone: 'UTC',
    overlap: 'BUFFER_ONE',
    catchupWindow: '1 day',
  }),
  /**
   * The candidate passes unless its NE on the window's test days exceeds the serving version's
   * there by more than `tolerance` × that NE plus two standard errors of the paired
   * difference. @default 0.005
   */
  tolerance: z.number().min(0).max(1).default(0.005),
  /** The evaluation slice: candidate and serving model are scored on the newest this many events of `topic`. @default 5000 */
  evalEvents: z.number().int().positive().default(5000),
  /** Settings of the recurring workflow when a hand-over has to start it. */
  recurring: z
    .strictObject({
      /** The recurring workflow's publish cadence (schemas/publish-every.ts). */
      publishEvery: PublishEvery.optional(),
      eventsPerVersion: z.number().int().positive().optional(),
      windowVersions: z.number().int().positive().optional(),
      /** See the recurring workflow's `windowSeconds`. */
      windowSeconds: z.number().positive().optional(),
      publishEverySeconds: z.number().positive().optional(),
      /** `recurring.optimizer` (schemas/recurring-optimizer.ts). @default its default */
      optimizer: RecurringOptimizer.optional(),
    })
    .default({}),
  train: DailyTrainConfig,
});
export type DailyConfig = z.infer<typeof DailyConfig>;

/**
 * Parses a daily config; a ConfigError names the file and each bad field, one line each
 * (`file: train.data.window.tpoic: unknown field (did you mean 'topic'?)`).
 */
export function parseDailyConfig(input: unknown, file: string): DailyConfig {
  return parseOrThrow(DailyConfig, input, `daily config ${file}`, [], file);
}
