import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  Client,
  Connection,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import { z } from 'zod';
import { CronExpression, parseDailyConfig, type DailyConfig } from '../schemas/daily-config';
import type { DailyRetrainingInput } from '../schemas/workflow-io';
import { parseOrThrow } from '../schemas/zod-errors';
import { parseInfraConfig } from '../src/config/env';
import { ConfigError } from '../src/errors';
import { dailyRetraining } from '../workflows';
import { runMain } from '../src/cli/run-main';
import { temporalConnectionOptions } from '../src/config/temporal-connection';

/**
 * Creates or updates the Temporal Schedule that starts `dailyRetraining` for a model, from a
 * daily config (`--config daily.json`: a data window, training settings, schedule, tolerance)
 * or, without one, on synthetic rows (`--model M --topic T`). Also starts a catch-up run for a
 * past nominal time, triggers a run now, or deletes the schedule. `--help` lists the flags.
 */

const USAGE = `usage: npm run schedule -- --config daily.json [--trigger | --catch-up <time> [--force] | --delete]
       npm run schedule -- --model M --topic T [--cron EXPR | --every 6h] [--rows N] [--tolerance X]
                           [--trigger | --delete]

Creates or updates the Temporal Schedule 'agp-daily-<model>' that starts workflow
dailyRetraining on the worker's task queue (AGP_TASK_QUEUE).

  --config FILE     daily config (JSON): model, topic (optional: without one the candidate is
                    judged on the window's test days and made latest when it passes), schedule {cron|every, timeZone, overlap,
                    catchupWindow}, tolerance, evalEvents, recurring, train (a training config
                    whose data.window is a Kafka window {kind:"kafka", topic, from:"-7d", to:"0d",
                    test:"1h"} or a partitioned file window {kind:"parquet"|"csv"|"arrow",
                    path:"logs/date={yyyy-MM-dd}/*.parquet", days:7, timeZone:"UTC"})
  --trigger         also start one run now (its nominal time is now)
  --catch-up TIME   start one run for a past nominal time (ISO 8601, e.g. 2026-11-28T03:00:00Z):
                    it trains the window that day's run would have trained; when a version
                    for that time exists it returns it and trains nothing. At one of the
                    Schedule's own times it is the Schedule's backfill (listed under the
                    Schedule in the UI, with the Schedule's action); otherwise started directly
  --force           with --catch-up: train again even if a version for that time exists
  --delete          delete the schedule
  --model M         (without --config) model name (default agp-demo)
  --topic T         (without --config) the click topic the recurring phase consumes
  --cron EXPR       (without --config) cron in UTC (default '0 3 * * *')
  --every DURATION  (without --config) an interval instead, e.g. 6h
  --rows N          (without --config) synthetic training rows (default 100000)
  --tolerance X     (without --config) hand over when NE <= serving NE x (1 + X) (default 0.005)
  -h, --help        this text

Policies (set explicitly): overlap BUFFER_ONE (a run due while the previous one still runs starts
when it ends, with its own nominal time; a third is dropped), catch-up window 1 day (a run missed
while Temporal was down starts when it is back, for its scheduled time; older ones are dropped:
use --catch-up). A config's schedule.overlap and schedule.catchupWindow override them.
`;

/** What the schedule starts and when. */
export interface DailyScheduleOptions {
  model: string;
  taskQueue: string;
  input: DailyRetrainingInput;
  /** A cron expression. @default '0 3 * * *' when `every` is unset */
  cron?: string;
  /** An interval such as '6h' or '1 day'. */
  every?: string;
  /** Time zone of the cron expression. @default 'UTC' */
  timeZone?: string;
  /** @default 'BUFFER_ONE' (see schemas/daily-config.ts) */
  overlap?: DailyConfig['schedule']['overlap'];
  /** @default '1 day' */
  catchupWindow?: string;
}

/** The schedule id of a model's daily retraining. */
export function dailyScheduleId(model: string): string {
  return `agp-daily-${model}`;
}

/** Creates the schedule, or updates its spec, action and policies when it exists; returns its id. */
export async function upsertDailySchedule(
  client: Client,
  options: DailyScheduleOptions,
): Promise<string> {
  const scheduleId = dailyScheduleId(options.model);
  const spec: ScheduleSpec = options.every
    ? { intervals: [{ every: options.every as `${number}h` }] }
    : {
        cronExpressions: [options.cron ?? '0 3 * * *'],
        timezone: options.timeZone ?? 'UTC',
      };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: dailyRetraining,
    taskQueue: options.taskQueue,
    workflowId: `agp-daily-${options.model}`,
    args: [options.input] as [DailyRetrainingInput],
  };
  const policies = {
    overlap: ScheduleOverlapPolicy[options.overlap ?? 'BUFFER_ONE'],
    catchupWindow: (options.catchupWindow ?? '1 day') as `${number} day`,
    pauseOnFailure: false,
  };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule
      .getHandle(scheduleId)
      .update((previous) => ({ ...previous, spec, action, policies }));
  }
  return scheduleId;
}

/**
 * Starts one `dailyRetraining` run for a past nominal time, outside the Schedule (which cannot
 * pass one): it trains the window the run due at `nominalTime` would have trained. The workflow
 * id names the time, so a second catch-up for the same time is refused while the first runs.
 */
export async function startCatchUp(
  client: Client,
  options: Pick<DailyScheduleOptions, 'model' | 'taskQueue' | 'input'>,
  nominalTime: string,
  catchUp: { force?: boolean } = {},
): Promise<string> {
  const time = new Date(nominalTime).toISOString();
  const workflowId = `agp-daily-${options.model}-catchup-${time}`;
  await client.workflow.start(dailyRetraining, {
    taskQueue: options.taskQueue,
    workflowId,
    args: [{ ...options.input, nominalTime: time, ...(catchUp.force ? { force: true } : {}) }],
  });
  return workflowId;
}

/**
 * Runs the model's Schedule for a past nominal time (a backfill), so the run appears under the
 * Schedule in the Temporal UI with the nominal time as its scheduled time, and trains with the
 * Schedule's own action (the config as last applied). Returns the started workflow's id, or null
 * when there is no Schedule or `nominalTime` is not one of its times (nothing started within
 * `waitMs`): then start the run with {@link startCatchUp}.
 */
export async function backfillCatchUp(
  client: Client,
  model: string,
  nominalTime: string,
  waitMs = 5000,
): Promise<string | null> {
  const handle = client.schedule.getHandle(dailyScheduleId(model));
  const time = new Date(nominalTime).getTime();
  // Runs the Schedule took from now on (a second of slack for the server's clock).
  const asked = new Date(Date.now() - 1000);
  const startedFor = async (): Promise<string | null> => {
    const actions = (await handle.describe()).info.recentActions;
    const match = actions.filter((a) => a.scheduledAt.getTime() === time && a.takenAt >= asked);
    return match.at(-1)?.action.workflow.workflowId ?? null;
  };
  try {
    await handle.backfill({
      start: new Date(time),
      end: new Date(time + 1000),
      // A catch-up is asked for by hand: it runs even if another run of the model is under way.
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
    });
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
  for (const deadline = Date.now() + waitMs; Date.now() < deadline;) {
    const id = await startedFor();
    if (id !== null) return id;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

/**
 * The workflow input of a daily config: the window apart, the training config as the user wrote
 * it (its defaults are applied where it is parsed, in the activity).
 */
export function dailyInputFromConfig(config: DailyConfig, raw: unknown): DailyRetrainingInput {
  const rawTrain = (raw as { train: Record<string, unknown> }).train;
  const { window: _window, ...data } = rawTrain['data'] as Record<string, unknown>;
  return {
    model: config.model,
    ...(config.topic === undefined ? {} : { topic: config.topic }),
    tolerance: config.tolerance,
    evalEvents: config.evalEvents,
    recurring: config.recurring,
    window: config.train.data.window,
    trainConfig: { name: config.model, ...rawTrain, data },
  };
}

/** Reads and validates a daily config file; a ConfigError names the file and the field. */
export async function readDailyConfig(
  file: string,
): Promise<{ config: DailyConfig; input: DailyRetrainingInput }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: ${(error as Error).message}`);
  }
  const config = parseDailyConfig(json, file);
  return { config, input: dailyInputFromConfig(config, json) };
}

const Time = z.iso.datetime({ offset: true });

const Flags = z
  .object({
    config: z.string().min(1).optional(),
    model: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
      .default('agp-demo'),
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/)
      .optional(),
    cron: CronExpression.optional(),
    every: z
      .string()
      .regex(/^\d+\s*(s|m|h|d|seconds?|minutes?|hours?|days?)$/, 'e.g. 6h or 1 day')
      .optional(),
    rows: z.coerce.number().int().min(256).default(100_000),
    tolerance: z.coerce.number().min(0).max(1).default(0.005),
    trigger: z.boolean().default(false),
    'catch-up': Time.optional(),
    force: z.boolean().default(false),
    delete: z.boolean().default(false),
  })
  .refine((f) => !(f.cron && f.every), {
    message: 'give --cron or --every, not both',
    path: ['every'],
  });
type Flags = z.infer<typeof Flags>;

/** The schedule of the synthetic demo (no config file). */
function syntheticOptions(flags: Flags, taskQueue: string): DailyScheduleOptions {
  if (!flags.topic)
    throw new ConfigError('--topic: the Kafka topic the recurring phase consumes is required');
  const synthetic = { kind: 'synthetic', preset: 'capacity-bound', seed: 1 };
  return {
    model: flags.model,
    taskQueue,
    ...(flags.cron ? { cron: flags.cron } : {}),
    ...(flags.every ? { every: flags.every } : {}),
    input: {
      model: flags.model,
      topic: flags.topic,
      tolerance: flags.tolerance,
      trainConfig: {
        name: flags.model,
        data: {
          train: { ...synthetic, split: 'train', rows: flags.rows },
          test: { ...synthetic, split: 'test', rows: 10_000 },
        },
      },
    },
  };
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        config: { type: 'string' },
        model: { type: 'string' },
        topic: { type: 'string' },
        cron: { type: 'string' },
        every: { type: 'string' },
        rows: { type: 'string' },
        tolerance: { type: 'string' },
        trigger: { type: 'boolean' },
        'catch-up': { type: 'string' },
        force: { type: 'boolean' },
        delete: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const flags = parseOrThrow(Flags, values, 'schedule flags');
  const infra = parseInfraConfig();
  let options: DailyScheduleOptions;
  if (flags.config) {
    const { config, input } = await readDailyConfig(flags.config);
    options = {
      model: config.model,
      taskQueue: infra.taskQueue,
      input,
      ...(config.schedule.cron ? { cron: config.schedule.cron } : {}),
      ...(config.schedule.every ? { every: config.schedule.every } : {}),
      timeZone: config.schedule.timeZone,
      overlap: config.schedule.overlap,
      catchupWindow: config.schedule.catchupWindow,
    };
  } else {
    options = flags.delete
      ? { model: flags.model, taskQueue: infra.taskQueue, input: {} as DailyRetrainingInput }
      : syntheticOptions(flags, infra.taskQueue);
  }
  const connection = await Connection.connect(temporalConnectionOptions(infra.temporal));
  try {
    const client = new Client({ connection, namespace: infra.temporal.namespace });
    const scheduleId = dailyScheduleId(options.model);
    if (flags.delete) {
      await client.schedule.getHandle(scheduleId).delete();
      process.stdout.write(`schedule: deleted ${scheduleId}\n`);
      return 0;
    }
    const catchUp = flags['catch-up'];
    if (catchUp !== undefined) {
      const nominal = new Date(catchUp).toISOString();
      // Through the Schedule when it has that time (it then lists the run); `--force` cannot be
      // passed through a Schedule, and other times are not the Schedule's: started directly.
      const backfilled = flags.force ? null : await backfillCatchUp(client, options.model, nominal);
      const workflowId =
        backfilled ?? (await startCatchUp(client, options, catchUp, { force: flags.force }));
      process.stdout.write(
        `schedule: started ${workflowId} (dailyRetraining for nominal time ${nominal}` +
          `${backfilled ? `, a backfill of schedule ${scheduleId}` : ''})\n`,
      );
      return 0;
    }
    await upsertDailySchedule(client, options);
    const when = options.every
      ? `every ${options.every}`
      : `cron '${options.cron ?? '0 3 * * *'}' (${options.timeZone ?? 'UTC'})`;
    process.stdout.write(
      `schedule: ${scheduleId} starts dailyRetraining ${when} on task queue '${infra.taskQueue}' ` +
        `(overlap ${options.overlap ?? 'BUFFER_ONE'}, catch-up window ${options.catchupWindow ?? '1 day'})\n`,
    );
    if (flags.trigger) {
      await client.schedule.getHandle(scheduleId).trigger();
      process.stdout.write('schedule: triggered one run now\n');
    }
    return 0;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runMain('schedule', () => main(process.argv.slice(2)));
}
