import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Kafka, Producer } from 'kafkajs';
import type { Manifest } from '../../../schemas/manifest';
import { recurringWorkflowId } from '../../../schemas/workflow-io';
import { parseInfraConfig } from '../../../src/config/env';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { createKafka } from '../../../src/stream/kafka-client';
import { replay } from '../../../src/stream/replay';
import { createWorker, installQuietRuntime, type AgpWorker } from '../../../worker/create-worker';
import { dailyRetraining, offlineTraining, recurringTraining } from '../../../workflows';
import { statusQuery } from '../../../workflows/messages';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';
import { tinyTrainConfig } from '../../tiny-train-config';

/** Events a version held back for the publish gate (consumed, scored, not trained). */
const heldBack = (m: Manifest): number => m.metrics['heldBackEvents'] ?? 0;

/**
 * The workflows with the REAL activities (tfjs model, filesystem registry, real Kafka, real
 * Temporal) on a tiny model: offline → recurring versions whose offsets chain without a gap,
 * then a daily retraining whose candidate takes over at the recurring offsets.
 */
describe('pipeline activities (real Temporal, real Kafka, real model)', () => {
  const config = parseInfraConfig();
  const taskQueue = `test-pipeline-${randomUUID()}`;
  const model = `tiny-${randomUUID().slice(0, 8)}`;
  const topic = `test-clicks-${randomUUID()}`;
  let dir: string;
  let registry: FsRegistryStore;
  let kafka: Kafka;
  let producer: Producer;
  let agpWorker: AgpWorker;
  let running: Promise<void>;
  let connection: Connection;
  let client: Client;
  /** Publishes started so far, and the one that crashes (once). */
  let publishes = 0;
  let crashAtPublish = -1;
  const stream = syntheticEventRows({
    preset: 'capacity-bound',
    seed: 2,
    teacherSeed: 1,
    rows: 2000,
  });
  const rows = stream.rows[Symbol.iterator]();
  const take = (n: number) => Array.from({ length: n }, () => rows.next().value as never);

  const trainConfig = tinyTrainConfig(model, { trainRows: 1024, testRows: 512 });

  before(async () => {
    installQuietRuntime();
    dir = await mkdtemp(join(tmpdir(), 'agp-pipeline-test-'));
    registry = await openFsRegistry(
      { root: join(dir, 'registry') },
      {
        faults: (step) => {
          if (step !== 'staging-created') return;
          publishes++;
          if (publishes === crashAtPublish) throw new Error('injected crash while publishing');
        },
      },
    );
    kafka = createKafka(config.kafka, { clientId: 'agp-test-pipeline' });
    await createTopicsReady(kafka, [{ topic, numPartitions: 3 }, { topic: `${topic}.dlq` }]);
    producer = kafka.producer();
    await producer.connect();
    agpWorker = await createWorker(config, { taskQueue, registry });
    running = agpWorker.worker.run();
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
  });

  after(async () => {
    await client.workflow
      .getHandle(recurringWorkflowId(model))
      .terminate('test done')
      .catch(() => undefined);
    agpWorker.worker.shutdown();
    await running;
    await agpWorker.close();
    await connection.close();
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it('a window that crashes mid-way is retried from its last published version: no gap, no overlap', async () => {
    const model2 = `${model}-retry`;
    const topic2 = `${topic}-retry`;
    await createTopicsReady(kafka, [{ topic: topic2, numPartitions: 3 }]);
    try {
      const offline = await client.workflow.execute(offlineTraining, {
        taskQueue,
        workflowId: `test-offline-${randomUUID()}`,
        args: [{ model: model2, trainConfig }],
      });
      await replay(take(600), { producer, topic: topic2, idPrefix: 'r' });
      // The window's second publish crashes; the retry must resume after the first version.
      crashAtPublish = publishes + 2;
      const state = await client.workflow.execute(recurringTraining, {
        taskQueue,
        workflowId: `test-recurring-${randomUUID()}`,
        args: [
          {
            model: model2,
            fromVersion: offline.version,
            topic: topic2,
            eventsPerVersion: 200,
            windowVersions: 3,
            maxVersions: 3,
          },
        ],
      });
      assert.ok(publishes >= crashAtPublish, 'the crash was injected');
      assert.equal(state.versionsPublished, 3);
      const manifests = await Promise.all(
        state.published.map((v) => registry.get(model2, v as never)),
      );
      assert.deepEqual(
        manifests.map((m) => m.parent),
        [offline.version, ...state.published.slice(0, 2)],
      );
      assert.deepEqual(offsetsOf(manifests[1]!)?.fromOffsets, offsetsOf(manifests[0]!)?.toOffsets);
      assert.deepEqual(offsetsOf(manifests[2]!)?.fromOffsets, offsetsOf(manifests[1]!)?.toOffsets);
      // Every event trained once across the retry, or held back once for the publish gate.
      assert.deepEqual(
        manifests.map((m) => (offsetsOf(m)?.events ?? 0) + heldBack(m)),
        [200, 200, 200],
        'every event trained (or held back) once across the retry',
      );
      assert.equal(state.eventsTrained + manifests.reduce((n, m) => n + heldBack(m), 0), 600);
      // Resumed, not restarted: the version published before the crash is part of the chain
      // (a restart from the offline version would have left it orphaned, a 4th recurring one).
      const [listing] = await registry.list(model2);
      assert.deepEqual(
        listing?.versions.filter((v) => v.phase === 'recurring').map((v) => v.version),
        state.published,
      );
    } finally {
      const cleanup = kafka.admin();
      await cleanup.connect();
      await cleanup.deleteTopics({ topics: [topic2, `${topic2}.dlq`] }).catch(() => undefined);
      await cleanup.disconnect();
    }
  });

  const offsetsOf = (m: Manifest) => (m.dataRange.kind === 'recurring' ? m.dataRange : undefined);

  it('offline → two recurring versions → daily hand-over at the recurring offsets', async () => {
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue,
      workflowId: `test-offline-${randomUUID()}`,
      args: [{ model, trainConfig }],
    });
    const first = await registry.get(model, offline.version as never);
    assert.equal(first.phase, 'offline');
    assert.equal(first.parent, null);
    assert.deepEqual(first.widths, { bottom: [16, 4], top: [16, 1] }, 'full width after AGP');

    await producer.send({ topic, messages: [{ key: 'bad', value: '{"v":1' }] });
    await replay(take(600), { producer, topic, idPrefix: 'a' });
    const state = await client.workflow.execute(recurringTraining, {
      taskQueue,
      workflowId: `test-recurring-${randomUUID()}`,
      // Versions of exactly 300 (the count below): no boundary deferred behind a publish.
      args: [
        {
          model,
          fromVersion: offline.version,
          topic,
          publishEvery: { events: 300, exact: true },
          maxVersions: 2,
        },
      ],
    });
    assert.equal(state.versionsPublished, 2);
    assert.equal(state.deadLettered, 1);
    const [v1, v2] = await Promise.all(state.published.map((v) => registry.get(model, v as never)));
    assert.ok(v1 && v2);
    assert.equal(state.eventsTrained + state.deadLettered + heldBack(v1) + heldBack(v2), 600);
    assert.equal(v1.parent, offline.version);
    assert.equal(v2.parent, v1.version);
    // The first version after the hand-over is judged too: the window held back its first
    // events (half a version here) and compared it with the offline version on them.
    assert.deepEqual(v1.gate?.judgedOn, [offline.version]);
    assert.ok((v1.gate?.heldBackEvents ?? 0) >= 150, `${v1.gate?.heldBackEvents} held-back events`);
    assert.equal(v1.gate?.anchor, offline.version);
    assert.deepEqual(v2.gate?.judgedOn, [v1.version, offline.version], 'parent and offline root');
    assert.deepEqual(offsetsOf(v2)?.fromOffsets, offsetsOf(v1)?.toOffsets, 'no gap, no overlap');
    assert.ok((v1.metrics['freshnessSeconds'] ?? -1) >= 0);
    assert.ok(Number.isFinite(v2.metrics['ne']));

    // More events arrive; the daily candidate (tolerance 1: accepted unless twice as bad) takes
    // over from the last recurring version's offsets.
    await replay(take(300), { producer, topic, idPrefix: 'b' });
    const daily = await client.workflow.execute(dailyRetraining, {
      taskQueue,
      workflowId: `test-daily-${randomUUID()}`,
      args: [
        {
          model,
          trainConfig: { ...trainConfig, seed: 2 },
          topic,
          tolerance: 1,
          evalEvents: 300,
          recurring: { eventsPerVersion: 300 },
        },
      ],
    });
    assert.equal(daily.current, v2.version);
    assert.equal(daily.handedOver, true, daily.reason);
    assert.ok(daily.candidateNe !== null && daily.currentNe !== null);
    const recurring = client.workflow.getHandle(recurringWorkflowId(model));
    const deadline = Date.now() + 60_000;
    let status = await recurring.query(statusQuery);
    while (status.versionsPublished < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      status = await recurring.query(statusQuery);
    }
    const v3 = await registry.get(model, status.published[0] as never);
    assert.equal(v3.parent, daily.candidate);
    assert.deepEqual(
      offsetsOf(v3)?.fromOffsets,
      offsetsOf(v2)?.toOffsets,
      'continues at the offsets',
    );
    assert.equal((offsetsOf(v3)?.events ?? 0) + heldBack(v3), 300);
  });
});
