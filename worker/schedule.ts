import { parseArgs } from 'node:util';
import { Client, Connection, ScheduleAlreadyRunning, type ScheduleSpec } from '@temporalio/client';
import { z } from 'zod';
import type { DailyRetrainingInput } from '../schemas/workflow-io';
import { parseOrThrow } from '../schemas/zod-errors';
import { parseInfraConfig } from '../src/config/env';
import { ConfigError } from '../src/errors';
import { dailyRetraining } from '../workflows';
import { runMain } from '../src/cli/run-main';
import { temporalConnectionOptions } from '../src/config/temporal-connection';

/**
 * Creates or updates the Temporal Schedule that starts `dailyRetraining` for a model: daily at
 * 03:00 UTC by default, or on `--cron` / `--every`. Skips a run while the previous one is still
 * going. `npx tsx worker/schedule.ts --model M --topic T [--cron EXPR | --every 6h]
 * [--rows N] [--tolerance X] [--trigger] [--delete]`.
 */

/** What the schedule starts and when. */
export interface DailyScheduleOptions {
  model: string;
  taskQueue: string;
  input: DailyRetrainingInput;
  /** A cron expression (UTC). @default '0 3 * * *' when `every` is unset */
  cron?: string;
  /** An interval such as '6h' or '1 day'. */
  every?: string;
}

/** The schedule id of a model's daily retraining. */
export function dailyScheduleId(model: string): string {
  return `agp-daily-${model}`;
}

/** Creates the schedule, or updates its spec and action when it exists; returns its id. */
export async function upsertDailySchedule(
  client: Client,
  options: DailyScheduleOptions,
): Promise<string> {
  const scheduleId = dailyScheduleId(options.model);
  const spec: ScheduleSpec = options.every
    ? { intervals: [{ every: options.every as `${number}h` }] }
    : { cronExpressions: [options.cron ?? '0 3 * * *'] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: dailyRetraining,
    taskQueue: options.taskQueue,
    workflowId: `agp-daily-${options.model}`,
    args: [options.input] as [DailyRetrainingInput],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: 'SKIP', catchupWindow: '1 hour' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule
      .getHandle(scheduleId)
      .update((previous) => ({ ...previous, spec, action }));
  }
  return scheduleId;
}

const Flags = z
  .object({
    model: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
      .default('agp-demo'),
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/)
      .optional(),
    cron: z.string().min(9).optional(),
    every: z
      .string()
      .regex(/^\d+\s*(s|m|h|d|seconds?|minutes?|hours?|days?)$/, 'e.g. 6h or 1 day')
      .optional(),
    rows: z.coerce.number().int().min(256).default(100_000),
    tolerance: z.coerce.number().min(0).max(1).default(0.005),
    trigger: z.boolean().default(false),
    delete: z.boolean().default(false),
  })
  .refine((f) => !(f.cron && f.every), {
    message: 'give --cron or --every, not both',
    path: ['every'],
  });

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      topic: { type: 'string' },
      cron: { type: 'string' },
      every: { type: 'string' },
      rows: { type: 'string' },
      tolerance: { type: 'string' },
      trigger: { type: 'boolean' },
      delete: { type: 'boolean' },
    },
    strict: true,
  });
  const flags = parseOrThrow(Flags, values, 'schedule flags');
  const config = parseInfraConfig();
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const scheduleId = dailyScheduleId(flags.model);
    if (flags.delete) {
      await client.schedule.getHandle(scheduleId).delete();
      process.stdout.write(`schedule: deleted ${scheduleId}\n`);
      return 0;
    }
    if (!flags.topic)
      throw new ConfigError('--topic: the Kafka topic the recurring phase consumes is required');
    const synthetic = { kind: 'synthetic', preset: 'capacity-bound', seed: 1 };
    await upsertDailySchedule(client, {
      model: flags.model,
      taskQueue: config.taskQueue,
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
    });
    const when = flags.every ? `every ${flags.every}` : `cron '${flags.cron ?? '0 3 * * *'}' (UTC)`;
    process.stdout.write(
      `schedule: ${scheduleId} starts dailyRetraining ${when} on task queue '${config.taskQueue}'\n`,
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
