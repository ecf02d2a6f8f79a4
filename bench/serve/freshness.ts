/**
 * Click → served freshness for `npm run bench:serve`, measured in the benchmark itself with the
 * product's own path (the one `npm start` reports its figure from): a private Temporal + Kafka
 * (BENCH_SERVE_PORTS, so it never meets the shared servers or a test's), a worker in this
 * process, the `offlineTraining` workflow with the main command's config for the first version,
 * clicks replayed into a topic as `npm start` replays them, the `recurringTraining` workflow
 * publishing versions to the registry, and a real `agp serve` process following that registry
 * (Kafka announcements and polling) while the served probe (src/serve/served-probe.ts) asks it
 * for a prediction every 100 ms.
 *
 * A sample is one produce request's first message in one partition: from the moment the request
 * was sent to the first prediction answered (on `/v1/models/{m}:predict`) by a version whose
 * end offsets contain it (offset < the manifest's `toOffsets`, the next offset to consume), that
 * version or a later one (a version superseded before it was loaded is never served).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Manifest } from '../../schemas/manifest';
import { ModelVersion } from '../../schemas/manifest';
import { BENCH_SERVE_PORTS, startPrivateStack } from '../../infra/private-stack';
import { featureSpecOfManifest } from '../../src/pipeline/feature-spec-of';
import { syntheticEventRows } from '../../src/pipeline/synthetic-events';
import { openFsRegistry } from '../../src/registry/fs-store';
import { startServedProbe } from '../../src/serve/served-probe';
import { createTopicsReady } from '../../src/stream/create-topics';
import { createKafka } from '../../src/stream/kafka-client';
import { createReplayProducer, replay } from '../../src/stream/replay';
import { createWorker } from '../../worker/create-worker';
import { demoTrainConfig } from '../../worker/demo-train-config';
import { offlineTraining, recurringTraining } from '../../workflows';
import { startServe } from './serve-process';

/** Each workflow's limit: a stuck run fails the benchmark with Temporal's timeout, never hangs it. */
const TIMEOUT = '30 minutes';

/** serve.json's `freshness`. */
export interface Freshness {
  medianSeconds: number | null;
  maxSeconds: number | null;
  samples: number;
  /** Recurring versions the run published, and how many of them the probe saw served. */
  versions: number;
  versionsServed: number;
  /** What was run, for the reader. */
  method: string;
}

/** Options of {@link measureFreshness}. */
export interface FreshnessOptions {
  /** Recurring versions to publish. */
  versions: number;
  eventsPerVersion: number;
  /** Replay rate, events/s. */
  rate: number;
  /** Offline training rows (the first version). */
  offlineRows: number;
  log: (line: string) => void;
}

/** One produce request's first message in a partition, and when the request was sent. */
interface Produced {
  partition: string;
  offset: number;
  sentAt: number;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Seconds from produce to served for every sample a published version contains (samples
 * produced after the last version's end offsets are not counted).
 */
export function clickToServedSamples(
  produced: readonly Produced[],
  topic: string,
  recurring: readonly Manifest[],
  firstServed: ReadonlyMap<string, number>,
): number[] {
  const out: number[] = [];
  for (const p of produced) {
    let at = Number.POSITIVE_INFINITY;
    for (const m of recurring) {
      if (m.dataRange.kind !== 'recurring') continue;
      const end = m.dataRange.toOffsets[topic]?.[p.partition];
      const served = firstServed.get(m.version);
      if (end === undefined || served === undefined || !(p.offset < Number(end))) continue;
      at = Math.min(at, served);
    }
    if (Number.isFinite(at)) out.push((at - p.sentAt) / 1000);
  }
  return out;
}

/** Runs the pipeline on a private stack and measures click → served; stops all it started. */
export async function measureFreshness(options: FreshnessOptions): Promise<Freshness> {
  const { log } = options;
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const model = `fresh-${tag}`;
  const topic = `agp.clicks.${model}`;
  const stack = await startPrivateStack(`agp-bench-serve-${tag}`, BENCH_SERVE_PORTS, 'bench-serve');
  const scratch = await mkdtemp(join(tmpdir(), 'agp-bench-serve-fresh-'));
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(scratch, { recursive: true, force: true }),
    () => stack.dispose(),
  ];
  try {
    const { worker, close } = await createWorker(stack.config);
    const running = worker.run();
    // A worker that stops for good fails the measurement instead of leaving a workflow waiting.
    const workerFailed = running.then(
      () => new Promise<never>(() => undefined),
      (error: unknown) =>
        Promise.reject(new Error('the freshness worker failed', { cause: error })),
    );
    workerFailed.catch(() => undefined);
    cleanups.unshift(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await close();
    });
    const connection = await Connection.connect({ address: stack.config.temporal.address });
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection, namespace: stack.config.temporal.namespace });
    log(`freshness: offline training ${options.offlineRows} rows (offlineTraining, ${model})`);
    const offline = await Promise.race([
      client.workflow.execute(offlineTraining, {
        taskQueue: stack.config.taskQueue,
        workflowId: `agp-offline-${model}`,
        workflowExecutionTimeout: TIMEOUT,
        args: [
          {
            model,
            trainConfig: demoTrainConfig({
              model,
              rows: options.offlineRows,
              testRows: Math.max(256, Math.round(options.offlineRows / 10)),
            }),
          },
        ],
      }),
      workerFailed,
    ]);
    // The worker's registry: the private stack's data directory, announced on its Kafka.
    const root = join(stack.config.dataDir, 'registry');
    const registry = await openFsRegistry({ root });
    const serve = await startServe({
      args: ['--model', model, '--root', root, '--poll-ms', '500'],
      grpc: false,
      env: stack.childEnv,
    });
    cleanups.unshift(() => serve.stop());
    const first = await registry.get(model, ModelVersion.parse(offline.version));
    const probe = startServedProbe(serve.url, model, featureSpecOfManifest(first));
    cleanups.unshift(() => probe.stop());

    const kafka = createKafka(stack.config.kafka, { clientId: 'agp-bench-serve' });
    await createTopicsReady(kafka, [{ topic, numPartitions: 3 }, { topic: `${topic}.dlq` }]);
    const producer = createReplayProducer(kafka);
    await producer.connect();
    cleanups.unshift(() => producer.disconnect());
    const produced: Produced[] = [];
    const stopReplay = new AbortController();
    const { rows } = syntheticEventRows({
      preset: 'capacity-bound',
      seed: 2,
      teacherSeed: 1,
      split: 'train',
      rows: (options.versions + 2) * options.eventsPerVersion,
    });
    const replayed = replay(rows, {
      producer,
      topic,
      rate: options.rate,
      signal: stopReplay.signal,
      onSent: (records, sentAt) => {
        for (const r of records) {
          produced.push({ partition: String(r.partition), offset: Number(r.baseOffset), sentAt });
        }
      },
      log,
    }).catch((error: unknown) => log(`freshness: replay stopped: ${String(error)}`));
    log(
      `freshness: recurringTraining, ${options.versions} versions of ${options.eventsPerVersion} events, replay at ${options.rate} events/s`,
    );
    const state = await Promise.race([
      client.workflow.execute(recurringTraining, {
        taskQueue: stack.config.taskQueue,
        workflowId: `agp-recurring-${model}`,
        workflowExecutionTimeout: TIMEOUT,
        args: [
          {
            model,
            fromVersion: offline.version,
            topic,
            eventsPerVersion: options.eventsPerVersion,
            windowVersions: 1,
            publishEverySeconds: 60,
            maxVersions: options.versions,
          },
        ],
      }),
      workerFailed,
    ]);
    stopReplay.abort();
    await replayed;
    const newest = state.published.at(-1);
    const deadline = Date.now() + 20_000;
    while (newest !== undefined && !probe.firstServed.has(newest) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const recurring = await Promise.all(
      state.published.map((v) => registry.get(model, ModelVersion.parse(v))),
    );
    const samples = clickToServedSamples(produced, topic, recurring, probe.firstServed);
    return {
      medianSeconds: median(samples),
      maxSeconds: samples.length ? Math.max(...samples) : null,
      samples: samples.length,
      versions: recurring.length,
      versionsServed: recurring.filter((m) => probe.firstServed.has(m.version)).length,
      method:
        `offlineTraining (${options.offlineRows} rows) then recurringTraining (${options.versions} versions of ` +
        `${options.eventsPerVersion} events, clicks replayed at ${options.rate} events/s) on a private Temporal + Kafka; ` +
        'agp serve following the registry; a sample = a produce request to a partition, from its send to the first ' +
        'prediction answered by a version whose end offsets contain it',
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
