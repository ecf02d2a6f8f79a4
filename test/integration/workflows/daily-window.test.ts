import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Kafka } from 'kafkajs';
import type { Manifest } from '../../../schemas/manifest';
import { recurringWorkflowId, type DailyRetrainingInput } from '../../../schemas/workflow-io';
import { parseInfraConfig } from '../../../src/config/env';
import { openSource } from '../../../src/data/open-source';
import { writeParquet } from '../../../src/data/parquet';
import type { KafkaRangeSource } from '../../../src/data/windows/kafka-range-source';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';
import { createKafka } from '../../../src/stream/kafka-client';
import { createWorker, type AgpWorker } from '../../../worker/create-worker';
import { startCatchUp, upsertDailySchedule } from '../../../worker/schedule';
import { deleteTopics, spec } from '../stream/kafka-helpers';
import { DAY, fillWindowTopic, idsBetween } from '../stream/window-events';

/**
 * Scheduled retraining on real logs, with the real activities on a real Temporal server and
 * Kafka broker: a Schedule run (nominal time = its scheduled start) trains exactly its window,
 * a catch-up for an earlier nominal time trains that day's window, a partitioned Parquet
 * directory gives exactly its days, and an empty window fails without retrying.
 */
describe('dailyRetraining on data windows (real Temporal, real Kafka)', () => {
  const config = parseInfraConfig();
  const taskQueue = `test-daily-window-${randomUUID()}`;
  const topic = `test-daily-window-${randomUUID().slice(0, 8)}`;
  const nominal = Date.parse('2025-06-04T03:00:00Z');
  const start = nominal - 3 * DAY;
  const hour = 3_600_000;
  const models: string[] = [];
  let dir: string;
  let registry: FsRegistryStore;
  let kafka: Kafka;
  let agpWorker: AgpWorker;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;

  const tiny = {
    model: { embeddingDim: 4, bottom: [8, 4], top: [8, 1], batchSize: 32 },
    evalPoints: 0,
    evalRows: 256,
  };
  /** The workflow input of a daily config with this window (as `npm run schedule` builds it). */
  const input = (model: string, window: Record<string, unknown>): DailyRetrainingInput => {
    models.push(model);
    return {
      model,
      topic,
      tolerance: 1,
      evalEvents: 100,
      recurring: { eventsPerVersion: 100_000, publishEverySeconds: 3600 },
      window: window as DailyRetrainingInput['window'],
      trainConfig: { name: model, ...tiny, data: { features: spec } },
    };
  };
  const kafkaWindow = { kind: 'kafka', topic, from: '-2d', to: '0d', test: '6h' };

  /** Ids of the events a version's recorded train (or test) source reads. */
  const idsOf = async (manifest: Manifest, split: 'train' | 'test'): Promise<string[]> => {
    const data = (manifest.config as { train: { data: Record<string, Record<string, unknown>> } })
      .train.data;
    // Re-read without dead-lettering: the run already did.
    const source = openSource(
      { ...(data[split] as object), deadLetterTopic: null } as never,
      spec,
    ) as KafkaRangeSource;
    for await (const _ of source.batches({ batchSize: 256 })) {
      // reading fills eventIds()
    }
    return source.eventIds();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agp-daily-window-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
    kafka = createKafka(config.kafka, { clientId: 'agp-test-daily-window' });
    await fillWindowTopic(kafka, topic, start);
    agpWorker = await createWorker(config, { taskQueue, registry });
    running = agpWorker.worker.run();
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
  });

  after(async () => {
    for (const model of models) {
      await client.workflow
        .getHandle(recurringWorkflowId(model))
        .terminate('test done')
        .catch(() => undefined);
    }
    agpWorker.worker.shutdown();
    await running;
    await agpWorker.close();
    await connection.close();
    await deleteTopics(kafka, topic, `${topic}.dlq`);
    await rm(dir, { recursive: true, force: true });
  });

  it('a Schedule run at 03:00 with -2d..0d trains exactly that window, never its test slice', async () => {
    const model = `dw-${randomUUID().slice(0, 8)}`;
    const scheduleId = await upsertDailySchedule(client, {
      model,
      taskQueue,
      cron: '0 3 * * *',
      input: input(model, kafkaWindow),
    });
    const schedule = client.schedule.getHandle(scheduleId);
    try {
      const described = await schedule.describe();
      assert.equal(described.policies.overlap, ScheduleOverlapPolicy.BUFFER_ONE);
      assert.equal(described.policies.catchupWindow, 86_400_000);
      // A backfill runs the schedule for a past time: its nominal time is that scheduled time.
      await schedule.backfill({
        start: new Date(nominal - 60_000),
        end: new Date(nominal + 60_000),
        overlap: ScheduleOverlapPolicy.ALLOW_ALL,
      });
      let started: { workflowId: string; firstExecutionRunId: string } | undefined;
      for (let i = 0; i < 100 && !started; i++) {
        started = (await schedule.describe()).info.recentActions[0]?.action.workflow;
        if (!started) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(started, 'the schedule started a run');
      const result = await client.workflow
        .getHandle(started.workflowId, started.firstExecutionRunId)
        .result();
      assert.equal(result.nominalTime, '2025-06-04T03:00:00.000Z');
      const manifest = await registry.get(model, result.candidate as never);
      assert.equal(manifest.window?.kind, 'kafka');
      assert.equal(manifest.window?.nominalTime, '2025-06-04T03:00:00.000Z');
      const train = idsBetween(start, nominal - 2 * DAY, nominal - 6 * hour);
      const test = idsBetween(start, nominal - 6 * hour, nominal);
      assert.equal(manifest.metrics['rowsTrained'], train.length);
      assert.equal(manifest.metrics['testRows'], test.length);
      assert.deepEqual(new Set(await idsOf(manifest, 'train')), new Set(train));
      const tested = await idsOf(manifest, 'test');
      assert.deepEqual(new Set(tested), new Set(test));
      assert.ok(
        tested.every((id) => !train.includes(id)),
        'the test slice is never trained on',
      );
    } finally {
      await schedule.delete();
    }
  });

  it('a catch-up for an earlier nominal time trains that day’s window', async () => {
    const model = `dc-${randomUUID().slice(0, 8)}`;
    const earlier = nominal - DAY;
    const workflowId = await startCatchUp(
      client,
      { model, taskQueue, input: input(model, kafkaWindow) },
      new Date(earlier).toISOString(),
    );
    const result = await client.workflow.getHandle(workflowId).result();
    assert.equal(result.nominalTime, '2025-06-03T03:00:00.000Z');
    const manifest = await registry.get(model, result.candidate as never);
    const train = idsBetween(start, earlier - 2 * DAY, earlier - 6 * hour);
    assert.equal(manifest.metrics['rowsTrained'], train.length);
    assert.deepEqual(new Set(await idsOf(manifest, 'train')), new Set(train));
    assert.equal(
      manifest.window?.kind === 'kafka' && manifest.window.to,
      '2025-06-03T03:00:00.000Z',
    );
  });

  it('a date=YYYY-MM-DD directory of Parquet files: the run reads exactly its days', async () => {
    const model = `dp-${randomUUID().slice(0, 8)}`;
    const logs = join(dir, 'logs');
    const days = ['2025-06-01', '2025-06-02', '2025-06-03', '2025-06-04'];
    const rowsPerDay = [40, 50, 60, 70];
    for (const [i, day] of days.entries()) {
      const n = rowsPerDay[i] as number;
      await mkdir(join(logs, `date=${day}`), { recursive: true });
      await writeParquet(
        join(logs, `date=${day}`, 'part-0.parquet'),
        [
          {
            size: n,
            labels: Array.from({ length: n }, (_, r) => r % 2),
            dense: [Array.from({ length: n }, (_, r) => r), Array.from({ length: n }, () => 0)],
            sparse: [Array.from({ length: n }, () => day), Array.from({ length: n }, (_, r) => r)],
          },
        ],
        spec,
      );
    }
    const workflowId = await startCatchUp(
      client,
      {
        model,
        taskQueue,
        input: input(model, {
          kind: 'parquet',
          path: join(logs, 'date={yyyy-MM-dd}', '*.parquet'),
          days: 2,
          timeZone: 'UTC',
        }),
      },
      '2025-06-04T03:00:00Z',
    );
    const result = await client.workflow.getHandle(workflowId).result();
    const manifest = await registry.get(model, result.candidate as never);
    assert.ok(manifest.window?.kind === 'files');
    assert.deepEqual(
      manifest.window.files.map((f) => `${f.date}:${f.split}`),
      ['2025-06-02:train', '2025-06-03:test'],
    );
    assert.match(manifest.window.files[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(manifest.metrics['rowsTrained'], 50);
    assert.equal(manifest.metrics['testRows'], 60);
  });

  it('a window with no events fails at once with a non-retryable error naming the window', async () => {
    const model = `de-${randomUUID().slice(0, 8)}`;
    const workflowId = await startCatchUp(
      client,
      { model, taskQueue, input: input(model, kafkaWindow) },
      new Date(nominal + 10 * DAY).toISOString(),
    );
    const error = await client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(error instanceof WorkflowFailedError, String(error));
    const cause = error.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'DataError');
    assert.equal(cause.nonRetryable, true);
    assert.match(
      cause.message,
      new RegExp(
        `^empty window: kafka window -2d\\.\\.0d of topic '${topic}' .*2025-06-14T03:00:00\\.000Z`,
      ),
    );
    await assert.rejects(registry.list(model), /no model/, 'nothing trained, nothing published');
  });
});
