import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import { ModelVersion } from '../../schemas/manifest';
import { clickMessages } from '../../infra/fleet/click-stream';
import { startFleetServers } from '../../infra/fleet/servers';
import { workerNames, type RecurringHandle } from '../../infra/fleet/windows';
import { openPrivateS3Registry, type PrivateS3 } from '../../infra/private-s3';
import { BENCH_FLEET_PORTS } from '../../infra/private-stack';
import { startWorker, type WorkerProcess } from '../../infra/worker-process';
import type { RegistryStore } from '../../src/registry/store';
import { createTopicsReady } from '../../src/stream/create-topics';
import { createKafka } from '../../src/stream/kafka-client';
import { createReplayProducer } from '../../src/stream/replay';
import { recurringTraining } from '../../workflows';

/**
 * The fleet benchmark's world: a private Temporal + Kafka (BENCH_FLEET_PORTS) and S3 server,
 * the shared S3 registry, and a pool of `npm run worker` processes, each with a data directory
 * of its own as on separate hosts. Everything it starts, `dispose` stops.
 */
export interface Fleet {
  readonly client: Client;
  readonly kafka: Kafka;
  /** The registry every worker publishes to (S3), as this process reads it. */
  readonly registry: RegistryStore;
  readonly s3: PrivateS3;
  readonly taskQueue: string;
  /** This run's tag, in its model, topic and task queue names. */
  readonly tag: string;
  /** Workers still running, oldest first. */
  live(): WorkerProcess[];
  /** `A`, `B`, …: a worker by start order, for the report. */
  nameOf(identity: string | undefined): string;
  /** Starts workers until `count` run (all polling), or SIGTERMs the newest extra ones. */
  ensureWorkers(count: number): Promise<WorkerProcess[]>;
  dispose(): Promise<void>;
}

/** Settings of every recurring workflow the benchmark starts. */
export interface RecurringSettings {
  eventsPerVersion: number;
  /** Unset: the workflow's default window (`windowSeconds`), as the main command runs it. */
  windowVersions?: number;
  heartbeatTimeoutSeconds: number;
}

export async function startFleet(tag: string): Promise<Fleet> {
  const taskQueue = `agp-bench-fleet-${tag}`;
  const { stack, s3 } = await startFleetServers(taskQueue, BENCH_FLEET_PORTS, 'bench-fleet');
  const workDir = await mkdtemp(path.join(tmpdir(), 'agp-bench-fleet-'));
  const registry = await openPrivateS3Registry(s3, workDir);
  const connection = await Connection.connect({ address: stack.config.temporal.address });
  const client = new Client({ connection, namespace: stack.config.temporal.namespace });
  const kafka = createKafka(stack.config.kafka, { clientId: 'agp-bench-fleet' });
  const workers: WorkerProcess[] = [];
  const names = workerNames();
  const live = (): WorkerProcess[] => workers.filter((w) => w.exit() === null);
  return {
    client,
    kafka,
    registry,
    s3,
    taskQueue,
    tag,
    live,
    nameOf: names.nameOf,
    async ensureWorkers(count) {
      const started: WorkerProcess[] = [];
      while (live().length + started.length < count) {
        const dataDir = await mkdtemp(path.join(workDir, 'worker-'));
        const w = startWorker({ ...stack.childEnv, ...s3.env, AGP_DATA_DIR: dataDir });
        workers.push(w);
        started.push(w);
        names.add(w);
      }
      await Promise.all(started.map((w) => w.ready()));
      for (const extra of live().slice(count).reverse()) await extra.kill('SIGTERM');
      return live();
    },
    async dispose() {
      await Promise.all(live().map((w) => w.kill('SIGTERM').catch(() => undefined)));
      await connection.close().catch(() => undefined);
      await stack.dispose();
      await s3.dispose();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * The same click stream (the offline data's teacher, new rows) produced into each topic, so
 * every model has a backlog of `count` events to train through as fast as it can.
 */
export async function produceBacklog(
  kafka: Kafka,
  topics: readonly string[],
  count: number,
  teacherSeed: number,
): Promise<void> {
  await createTopicsReady(
    kafka,
    topics.flatMap((topic) => [{ topic, numPartitions: 3 }, { topic: `${topic}.dlq` }]),
  );
  const messages = clickMessages(teacherSeed, count, 'bench');
  const producer = createReplayProducer(kafka);
  await producer.connect();
  try {
    for (const topic of topics) {
      for (let i = 0; i < messages.length; i += 2_000) {
        await producer.send({ topic, messages: messages.slice(i, i + 2_000) });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Publishes `version` of `from` again as the first version of model `to` (same files, config
 * and metrics), so several models start from one offline run without training it again.
 */
export async function cloneVersion(
  registry: RegistryStore,
  from: string,
  version: string,
  to: string,
): Promise<string> {
  const { manifest, dir } = await registry.fetch(from, ModelVersion.parse(version));
  const published = await registry.publish(
    to,
    { files: manifest.files.map((f) => ({ path: f.path, source: path.join(dir, f.path) })) },
    {
      parent: null,
      phase: manifest.phase,
      configHash: manifest.configHash,
      dataRange: manifest.dataRange,
      metrics: manifest.metrics,
      ...(manifest.widths ? { widths: manifest.widths } : {}),
      ...(manifest.backend ? { backend: manifest.backend } : {}),
      config: manifest.config,
    },
  );
  return published.version;
}

/** A model's recurring workflow on its topic, from `fromVersion`, with no end of its own. */
export function startRecurring(
  fleet: Fleet,
  model: { model: string; topic: string; fromVersion: string },
  settings: RecurringSettings,
): Promise<RecurringHandle> {
  return fleet.client.workflow.start(recurringTraining, {
    taskQueue: fleet.taskQueue,
    workflowId: `agp-recurring-${model.model}`,
    args: [
      {
        ...model,
        eventsPerVersion: settings.eventsPerVersion,
        ...(settings.windowVersions === undefined
          ? {}
          : { windowVersions: settings.windowVersions }),
        publishEverySeconds: 60,
        heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
      },
    ],
  });
}
