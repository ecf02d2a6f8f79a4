import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, type LogEntry } from '@temporalio/worker';
import type { Kafka, Producer } from 'kafkajs';
import type { Manifest, ModelVersion } from '../../../schemas/manifest';
import { run as registryCli } from '../../../src/cli/registry';
import { parseInfraConfig } from '../../../src/config/env';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { auditChain } from '../../../src/registry/audit';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { createKafka } from '../../../src/stream/kafka-client';
import { replay } from '../../../src/stream/replay';
import {
  createWorker,
  installQuietRuntime,
  WORKFLOWS_PATH,
  type AgpWorker,
} from '../../../worker/create-worker';
import { offlineTraining, recurringTraining } from '../../../workflows';
import { tinyTrainConfig } from '../../tiny-train-config';

/** A port nothing listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Flips one byte in the middle of a file, as a bad disk or a bad copy would. */
async function flipByte(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const at = Math.floor((await handle.stat()).size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/**
 * Issue 26 item 3: a byte flipped in the latest version's weights. `agp registry ls` marks it,
 * and the next recurring window — on a worker that does not hold the version in memory, as
 * after a restart — resumes without a person from the newest version that verifies: `latest`
 * moves back with the reason in the model's history, the worker logs an alert, and the new
 * version is the good version's child, retraining the corrupt version's offsets (real Temporal,
 * real Kafka, real model).
 */
describe('a corrupt latest (real Temporal, real Kafka, real model)', { timeout: 300_000 }, () => {
  const config = parseInfraConfig();
  const model = `corrupt-${randomUUID().slice(0, 8)}`;
  const topic = `test-corrupt-${randomUUID()}`;
  const perVersion = 200;
  const logged: LogEntry[] = [];
  let metricsPort: number;
  let dir: string;
  let registry: FsRegistryStore;
  let kafka: Kafka;
  let producer: Producer;
  let connection: Connection;
  let client: Client;
  let workflowBundle: { code: string };
  const workers: { agp: AgpWorker; running: Promise<void> }[] = [];

  /** A worker of its own (a fresh process's trainer cache) on its own task queue. */
  const startWorker = async (): Promise<string> => {
    const taskQueue = `test-corrupt-${randomUUID()}`;
    const agp = await createWorker(config, { taskQueue, registry, workflowBundle });
    workers.push({ agp, running: agp.worker.run() });
    return taskQueue;
  };
  const stopWorkers = async (): Promise<void> => {
    for (const w of workers.splice(0)) {
      w.agp.worker.shutdown();
      await w.running.catch(() => undefined);
      await w.agp.close().catch(() => undefined);
    }
  };
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await registryCli([...argv, '--root', registry.location], {
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    return { code, out, err };
  };

  before(async () => {
    // The runtime's logger is the worker's log, and its Prometheus endpoint the worker's
    // metrics: the alert is checked in both.
    metricsPort = await freePort();
    installQuietRuntime('WARN', (entry) => void logged.push(entry), `127.0.0.1:${metricsPort}`);
    dir = await mkdtemp(join(tmpdir(), 'agp-corrupt-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
    kafka = createKafka(config.kafka, { clientId: 'agp-test-corrupt' });
    await createTopicsReady(kafka, [{ topic, numPartitions: 2 }, { topic: `${topic}.dlq` }]);
    producer = kafka.producer();
    await producer.connect();
    const { rows } = syntheticEventRows({
      preset: 'capacity-bound',
      seed: 4,
      teacherSeed: 1,
      rows: 3 * perVersion,
    });
    await replay([...rows], { producer, topic, idPrefix: 'c-' });
    workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
  });

  after(async () => {
    await stopWorkers();
    await connection?.close();
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it('ls marks it; the next window resumes from the newest version that verifies', async () => {
    const recurring = (taskQueue: string, fromVersion: string, maxVersions: number) =>
      client.workflow.execute(recurringTraining, {
        taskQueue,
        workflowId: `test-corrupt-recurring-${randomUUID()}`,
        args: [
          {
            model,
            fromVersion,
            topic,
            eventsPerVersion: perVersion,
            windowVersions: maxVersions,
            maxVersions,
            publishEverySeconds: 3600,
            // The gate is not what this test is about (tiny windows are noisy).
            gate: { enabled: false },
          },
        ],
      });

    // v1 offline, then v2 and v3 recurring.
    const firstQueue = await startWorker();
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue: firstQueue,
      workflowId: `test-corrupt-offline-${randomUUID()}`,
      args: [{ model, trainConfig: tinyTrainConfig(model, { trainRows: 1024, testRows: 256 }) }],
    });
    const first = await recurring(firstQueue, offline.version, 2);
    const [good, corrupt] = first.published as [ModelVersion, ModelVersion];
    assert.equal(first.version, corrupt);
    assert.equal(await registry.latest(model), corrupt);
    // That worker holds `corrupt` in memory; a restarted one would not.
    await stopWorkers();

    await flipByte(join(dir, 'registry', model, 'versions', corrupt, 'files', 'dense.bin'));
    const before = await cli('ls', model);
    assert.equal(before.code, 0);
    assert.match(before.out, new RegExp(`^${model}\\s+${corrupt}\\s.*latest,CORRUPT$`, 'm'));
    const goodRow = before.out.split('\n').find((l) => l.includes(` ${good} `)) ?? '';
    assert.doesNotMatch(goodRow, /CORRUPT|latest/, 'the good version: no mark');
    assert.match(before.err, new RegExp(`CORRUPT ${model} ${corrupt} \\(latest: `));

    // The workflow continues from its last version, as the recurring phase does.
    const second = await recurring(await startWorker(), corrupt, 1);
    assert.equal(second.versionsPublished, 1);
    const next = second.version as ModelVersion;
    const [goodManifest, corruptManifest, nextManifest] = await Promise.all(
      [good, corrupt, next].map((v) => registry.get(model, v)),
    );
    assert.equal(await registry.latest(model), next);
    assert.equal(nextManifest?.parent, good, 'the new version continues from the good one');
    const range = (m: Manifest | undefined) =>
      m?.dataRange.kind === 'recurring' ? m.dataRange : undefined;
    assert.deepEqual(range(nextManifest)?.fromOffsets, range(goodManifest)?.toOffsets);
    // Its events are trained again: the new version starts where the good one ended (above) and
    // trains a version's worth (the corrupt one may have held more: a boundary due while the
    // previous version published was deferred).
    const total = (m: Manifest | undefined) =>
      Object.values(range(m)?.toOffsets[topic] ?? {}).reduce((sum, o) => sum + Number(o), 0);
    assert.ok(total(corruptManifest) - total(goodManifest) >= perVersion);
    assert.equal(
      total(nextManifest) - total(goodManifest),
      perVersion,
      'its events are trained again',
    );

    // Recorded: a rollback in the model's history, with the reason.
    const rollback = (await registry.state(model)).history.find((e) => e.action === 'rollback');
    assert.equal(rollback?.from, corrupt);
    assert.equal(rollback?.version, good);
    assert.match(rollback?.reason ?? '', new RegExp(`resume fallback: ${corrupt} fails verif`));
    // Alerted in the worker's log.
    const alert = logged.find((e) => /ALERT/.test(e.message));
    assert.ok(alert, `an ALERT line among ${logged.map((e) => e.message).join(' | ')}`);
    assert.equal(alert.level, 'WARN');
    assert.match(alert.message, new RegExp(`resuming from ${good}.*moved back from ${corrupt}`));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`^agp_resume_fallbacks_total\\{[^}]*model="${model}"[^}]*\\} 1$`, 'm'),
      metrics
        .split('\n')
        .filter((l) => l.includes('agp_'))
        .join('\n') || '(no agp_ metric)',
    );

    // The served chain without the corrupt version: no fork, no overlap, no gap.
    const [listing] = await registry.list(model);
    const manifests = await Promise.all(
      (listing?.versions ?? [])
        .filter((v) => v.version !== corrupt)
        .map((v) => registry.get(model, v.version)),
    );
    assert.deepEqual(auditChain(manifests).problems, []);
    const afterLs = await cli('ls', model);
    assert.match(afterLs.out, new RegExp(`^${model}\\s+${corrupt}\\s.*\\sCORRUPT$`, 'm'));
    assert.match(afterLs.out, new RegExp(`^${model}\\s+${next}\\s.*latest$`, 'm'));
  });
});
