import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  recurringWorkflowId,
  type DailyRetrainingInput,
  type DailyRetrainingResult,
} from '../../../schemas/workflow-io';
import { parseInfraConfig } from '../../../src/config/env';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';
import { writeParquet } from '../../../src/data/parquet';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { createWorker, type AgpWorker } from '../../../worker/create-worker';
import { backfillCatchUp, startCatchUp, upsertDailySchedule } from '../../../worker/schedule';
import { spec } from '../../unit/stream/fixtures';

/**
 * Daily retraining for a team whose logs are files: date-partitioned Parquet over four days,
 * no Kafka topic, the real activities on the real Temporal server. Each candidate is judged
 * against the served version on the same rows of its window's test day and becomes `latest`
 * only when it passes; a worse one (trained on shuffled labels) is kept out and left held; a
 * repeated catch-up returns the version it made; nothing is left running.
 */
describe('dailyRetraining on files only (no topic; real Temporal)', () => {
  const config = parseInfraConfig();
  const taskQueue = `test-daily-files-${randomUUID()}`;
  const days = ['2025-06-01', '2025-06-02', '2025-06-03', '2025-06-04'];
  const rowsPerDay = 800;
  let dir: string;
  let registry: FsRegistryStore;
  let agpWorker: AgpWorker;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;

  /** A seeded stream of uniforms in [0, 1). */
  const uniforms = (seed: number) => {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  };

  /**
   * One day of clicks whose label follows d2's sign (85% / 15%); `shuffle` permutes the labels,
   * so a model trained on them learns nothing but the base rate.
   */
  const writeDay = async (root: string, day: string, seed: number, shuffle: boolean) => {
    const next = uniforms(seed);
    const d2 = Array.from({ length: rowsPerDay }, () => next() * 2 - 1);
    const labels: number[] = d2.map((x) => (next() < (x > 0 ? 0.85 : 0.15) ? 1 : 0));
    if (shuffle) {
      for (let i = labels.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [labels[i], labels[j]] = [labels[j] as number, labels[i] as number];
      }
    }
    await mkdir(join(root, `date=${day}`), { recursive: true });
    await writeParquet(
      join(root, `date=${day}`, 'part-0.parquet'),
      [
        {
          size: rowsPerDay,
          labels,
          dense: [Array.from({ length: rowsPerDay }, () => Math.floor(next() * 10)), d2],
          sparse: [
            Array.from({ length: rowsPerDay }, () => `u${Math.floor(next() * 50)}`),
            Array.from({ length: rowsPerDay }, () => Math.floor(next() * 5)),
          ],
        },
      ],
      spec,
    );
  };

  /** The workflow input of a files-only daily config (as `npm run schedule` builds it). */
  const input = (model: string, logs: string): DailyRetrainingInput => ({
    model,
    tolerance: 0.1,
    window: {
      kind: 'parquet',
      path: join(logs, 'date={yyyy-MM-dd}', '*.parquet'),
      days: 3,
      testDays: 1,
      timeZone: 'UTC',
    },
    trainConfig: {
      name: model,
      model: { embeddingDim: 4, bottom: [8, 4], top: [8, 1], batchSize: 32 },
      epochs: 3,
      evalPoints: 0,
      evalRows: 256,
      data: { features: spec },
    },
  });

  const catchUp = async (
    model: string,
    logs: string,
    nominal: string,
    force = false,
  ): Promise<DailyRetrainingResult> => {
    const workflowId = await startCatchUp(
      client,
      { model, taskQueue, input: input(model, logs) },
      nominal,
      { force },
    );
    return client.workflow.getHandle(workflowId).result();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agp-daily-files-'));
    for (const [i, day] of days.entries()) {
      await writeDay(join(dir, 'logs'), day, 100 + i, false);
      // The same test day; the days a candidate trains on have their labels shuffled.
      await writeDay(join(dir, 'shuffled'), day, 100 + i, day !== '2025-06-04');
    }
    registry = await openFsRegistry({ root: join(dir, 'registry') });
    agpWorker = await createWorker(config, { taskQueue, registry });
    running = agpWorker.worker.run();
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
  });

  after(async () => {
    agpWorker.worker.shutdown();
    await running;
    await agpWorker.close();
    await connection.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('two catch-ups are judged on their test day and promoted; a shuffled-labels candidate is held; a repeat is idempotent', async (t) => {
    const model = `df-${randomUUID().slice(0, 8)}`;
    const logs = join(dir, 'logs');

    // The first run: nothing is served, so the candidate is the first version.
    const first = await catchUp(model, logs, '2025-06-04T03:00:00Z');
    assert.equal(first.promoted, true, first.reason);
    assert.equal(first.handedOver, false);
    assert.equal(await registry.latest(model), first.candidate);

    // The next day: judged against the first on 2025-06-04, the same rows for both.
    const second = await catchUp(model, logs, '2025-06-05T03:00:00Z');
    assert.equal(second.current, first.candidate);
    assert.equal(second.promoted, true, second.reason);
    assert.equal(await registry.latest(model), second.candidate);
    const manifest = await registry.get(model, second.candidate as never);
    assert.ok(manifest.judgement, 'the judgement is in the manifest');
    assert.equal(manifest.judgement.passed, true);
    assert.equal(manifest.judgement.comparedWith, first.candidate);
    assert.equal(manifest.judgement.rows, rowsPerDay);
    assert.match(manifest.judgement.on, /^test day 2025-06-04 \(800 rows\)$/);
    assert.equal(manifest.judgement.candidateNe, second.candidateNe);
    assert.equal(manifest.judgement.servedNe, second.currentNe);
    assert.ok(second.candidateNe !== null && second.candidateNe < 0.9, second.reason);
    assert.equal(manifest.gate?.held, false);
    t.diagnostic(second.reason);

    // The same nominal time again: the version it made, nothing trained.
    const again = await catchUp(model, logs, '2025-06-05T03:00:00Z');
    assert.equal(again.existing, true, again.reason);
    assert.equal(again.candidate, second.candidate);
    const [listing] = await registry.list(model);
    assert.equal(listing?.versions.length, 2);

    // A deliberately worse candidate (shuffled labels, forced for the same time) is kept out.
    const worse = await catchUp(model, join(dir, 'shuffled'), '2025-06-05T03:00:00Z', true);
    assert.equal(worse.promoted, false, worse.reason);
    assert.equal(worse.handedOver, false);
    assert.equal(worse.current, second.candidate);
    assert.match(worse.reason, /^kept v\d+: candidate v\d+ is worse and held, failed: /);
    assert.ok(worse.candidateNe !== null && worse.currentNe !== null);
    assert.ok(worse.candidateNe > worse.currentNe, worse.reason);
    assert.equal(await registry.latest(model), second.candidate, 'latest stays');
    t.diagnostic(worse.reason);
    const [after] = await registry.list(model);
    const held = after?.versions.find((v) => v.version === worse.candidate);
    assert.equal(held?.held, true, 'listed as held: not served');
    assert.equal(held?.latest, false);
    await registry.verify(model, worse.candidate as never);

    // Nothing was handed over and nothing is left running or retrying.
    await assert.rejects(client.workflow.getHandle(recurringWorkflowId(model)).describe());
    const runs = client.workflow.list({ query: `AgpModel = '${model}'` });
    for await (const run of runs) assert.notEqual(run.status.name, 'RUNNING', run.workflowId);
  });

  it('a missing partition fails at once, naming the nominal time, the window and every missing day', async () => {
    const model = `dm-${randomUUID().slice(0, 8)}`;
    const workflowId = await startCatchUp(
      client,
      { model, taskQueue, input: input(model, join(dir, 'logs')) },
      '2025-06-08T03:00:00Z',
    );
    const error = await client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, 'DataError');
    assert.equal(error.cause.nonRetryable, true);
    assert.match(
      error.cause.message,
      /at nominal time 2025-06-08T03:00:00\.000Z \(dates 2025-06-05\.\.2025-06-07\): 3 of 3 days missing: 2025-06-05 .*, 2025-06-06 .*, 2025-06-07 /,
    );
  });

  it('a configured topic that does not exist fails before training, naming it', async () => {
    const model = `dt-${randomUUID().slice(0, 8)}`;
    const topic = `no-such-topic-${randomUUID().slice(0, 8)}`;
    const workflowId = await startCatchUp(
      client,
      { model, taskQueue, input: { ...input(model, join(dir, 'logs')), topic } },
      '2025-06-04T03:00:00Z',
    );
    const error = await client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, 'ConfigError');
    assert.equal(error.cause.nonRetryable, true);
    assert.match(error.cause.message, new RegExp(`topic '${topic}' does not exist`));
    assert.equal(await registry.latest(model), null, 'nothing trained');
  });

  it('a catch-up at one of the Schedule’s times is its backfill: listed under the Schedule, nominal time = scheduled time', async () => {
    const model = `db-${randomUUID().slice(0, 8)}`;
    const scheduleId = await upsertDailySchedule(client, {
      model,
      taskQueue,
      cron: '0 3 * * *',
      input: input(model, join(dir, 'logs')),
    });
    const schedule = client.schedule.getHandle(scheduleId);
    try {
      const workflowId = await backfillCatchUp(client, model, '2025-06-04T03:00:00Z');
      assert.ok(workflowId, 'the Schedule started the run');
      const result = (await client.workflow
        .getHandle(workflowId)
        .result()) as DailyRetrainingResult;
      assert.equal(result.nominalTime, '2025-06-04T03:00:00.000Z');
      assert.equal(result.promoted, true, result.reason);
      const actions = (await schedule.describe()).info.recentActions;
      assert.ok(actions.some((a) => a.action.workflow.workflowId === workflowId));
      // 04:00 is not one of the Schedule's times; a model without a Schedule has none.
      assert.equal(await backfillCatchUp(client, model, '2025-06-04T04:00:00Z', 1500), null);
      assert.equal(await backfillCatchUp(client, `none-${model}`, '2025-06-04T03:00:00Z'), null);
    } finally {
      await schedule.delete();
    }
  });
});
