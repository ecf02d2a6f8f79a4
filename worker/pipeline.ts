import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { ensureInfra } from '../infra/stack';
import { ModelVersion, type Manifest } from '../schemas/manifest';
import { recurringWorkflowId, type RecurringState } from '../schemas/workflow-io';
import { parseOrThrow } from '../schemas/zod-errors';
import { parseInfraConfig } from '../src/config/env';
import { AgpError, InfraError } from '../src/errors';
import { syntheticEventRows } from '../src/pipeline/synthetic-events';
import {
  createKafkaAnnouncer,
  openRegistry,
  registryLocationFromEnv,
  watchRegistry,
} from '../src/registry';
import { createTopicsReady } from '../src/stream/create-topics';
import { createKafka } from '../src/stream/kafka-client';
import { DEFAULT_OUTAGE_LIMIT_MS, retryThroughOutage } from '../src/outage-retry';
import { isKafkaOutage } from '../src/stream/kafka-outage';
import { createReplayProducer, replay, type ReplayResult } from '../src/stream/replay';
import { offlineTraining, recurringTraining } from '../workflows';
import { createWorker, installQuietRuntime } from './create-worker';
import { demoTrainConfig } from './demo-train-config';
import { isTemporalOutage } from './temporal-outage';
import { runMain, topLevelMessage } from '../src/cli/run-main';
import { temporalConnectionOptions } from '../src/config/temporal-connection';
import { featureSpecOfManifest } from '../src/pipeline/feature-spec-of';
import { createScoringService, type ScoringService } from '../src/serve/scoring-service';
import { startServedProbe, type ServedProbe } from '../src/serve/served-probe';

/**
 * `npm start`: the whole pipeline on one machine. Brings the servers up (or uses
 * TEMPORAL_ADDRESS / KAFKA_BROKERS), runs a worker in this process, trains a DLRM offline with
 * AGP on synthetic click logs (workflow `offlineTraining` → the first version), replays later
 * synthetic clicks into a fresh Kafka topic, and runs `recurringTraining` until it has
 * published `--versions` further versions while a registry watcher prints each one and the
 * scoring service (`agp serve`, in this process) follows the registry. Ends with a summary
 * (versions, events, dead letters, freshness, click → served) and where to look.
 */
const Flags = z.object({
  versions: z.coerce.number().int().min(1).default(3),
  forever: z.boolean().default(false),
  fresh: z.boolean().default(false),
  rows: z.coerce.number().int().min(256).default(60_000),
  testRows: z.coerce.number().int().min(256).default(5_000),
  eventsPerVersion: z.coerce.number().int().min(1).default(4_000),
  rate: z.coerce.number().positive().default(1_000),
  model: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
    .default('agp-demo'),
  badEvents: z.coerce.number().int().min(0).default(5),
  outageLimit: z.coerce
    .number()
    .positive()
    .default(DEFAULT_OUTAGE_LIMIT_MS / 1000),
  servePort: z.coerce.number().int().min(0).max(65535).default(8501),
});
type Flags = z.infer<typeof Flags>;

const USAGE = `usage: npm start -- [--versions N] [--forever] [--fresh] [--rows N] [--test-rows N]
       [--events-per-version N] [--rate EVENTS_PER_S] [--model NAME] [--bad-events N]
Re-runnable: the first run trains the model offline and publishes versions of it; a later run
on the same data continues its lineage (recurring training from its latest version, no offline
training) unless --fresh says to train a new offline model and make it latest.
  --model NAME            the model (default agp-demo)
  --fresh                 train a new offline model even when the model has versions; it becomes
                          latest (a new lineage; the old versions stay listed in the registry)
  --versions N            recurring versions to publish after the offline one (default 3)
  --forever               keep the recurring phase running until Ctrl-C
  --rows N                offline training rows (default 60000)
  --events-per-version N  events per recurring version (default 4000)
  --rate N                replay rate, events/s (default 1000)
  --outage-limit S        how long Temporal or Kafka may be unreachable before the run gives up (default 300)
  --serve-port N          port of the scoring service that follows the registry (default 8501; any free port when taken)`;

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      versions: { type: 'string' },
      forever: { type: 'boolean' },
      fresh: { type: 'boolean' },
      rows: { type: 'string' },
      'test-rows': { type: 'string' },
      'events-per-version': { type: 'string' },
      rate: { type: 'string' },
      model: { type: 'string' },
      'bad-events': { type: 'string' },
      'outage-limit': { type: 'string' },
      'serve-port': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return parseOrThrow(
    Flags,
    {
      versions: values.versions,
      forever: values.forever,
      fresh: values.fresh,
      rows: values.rows,
      testRows: values['test-rows'],
      eventsPerVersion: values['events-per-version'],
      rate: values.rate,
      model: values.model,
      badEvents: values['bad-events'],
      outageLimit: values['outage-limit'],
      servePort: values['serve-port'],
    },
    'npm start flags',
  );
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const fmt = (n: number | undefined, digits = 4): string =>
  n === undefined ? '—' : n.toFixed(digits);

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  const config = parseInfraConfig();
  for (const s of await ensureInfra(config, (line) => say(`infra: ${line}`))) {
    say(`infra: ${s.component.padEnd(8)} ${s.state.padEnd(8)} ${s.address}  ${s.version}`);
  }
  installQuietRuntime();
  const kafka = createKafka(config.kafka, { clientId: 'agp-pipeline' });
  const announcer = createKafkaAnnouncer(kafka);
  const registry = await openRegistry(registryLocationFromEnv(config.dataDir), { announcer });
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  // A short outage of either server (a restart) is waited out, saying so, instead of ending
  // the run; after --outage-limit seconds in one outage the run fails with a clear error.
  const limitMs = flags.outageLimit * 1000;
  const viaTemporal = <T>(doing: string, work: () => Promise<T>): Promise<T> =>
    retryThroughOutage(work, {
      what: `Temporal at ${config.temporal.address} (${doing})`,
      isOutage: isTemporalOutage,
      limitMs,
      log: say,
    });
  const viaKafka = <T>(doing: string, work: () => Promise<T>): Promise<T> =>
    retryThroughOutage(work, {
      what: `Kafka at ${config.kafka.brokers.join(',')} (${doing})`,
      isOutage: isKafkaOutage,
      limitMs,
      log: say,
    });
  // A recurring run of this model left by an earlier (interrupted) start would otherwise be
  // picked up by this worker and keep publishing from its old topic.
  await client.workflow
    .getHandle(recurringWorkflowId(flags.model))
    .terminate('superseded by a new `npm start`')
    .then(
      () => say(`recurring: stopped the earlier ${recurringWorkflowId(flags.model)} run`),
      () => undefined,
    );
  const { worker, close } = await createWorker(config, { registry });
  const workerRun = worker.run();
  // The in-process worker survives short outages itself (its polls retry); if it stops for
  // good, waiting for a workflow result would hang, so the run fails with its reason instead.
  const workerStopped = workerRun.then(
    // A clean stop comes from Ctrl-C (the SDK's signal handling) or the `finally` below.
    () => new Promise<never>(() => undefined),
    (error: unknown) =>
      Promise.reject(new InfraError('the in-process worker failed', { cause: error })),
  );
  workerStopped.catch(() => undefined);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const topic = `agp.clicks.${flags.model}.${stamp}`;
  const producer = createReplayProducer(kafka);
  const stopReplay = new AbortController();
  const seen: Manifest[] = [];
  /** When the registry watcher (a consumer) received each version, ms since the epoch. */
  const receivedAt = new Map<string, number>();
  let watch: Awaited<ReturnType<typeof watchRegistry>> | undefined;
  let service: ScoringService | undefined;
  let probe: ServedProbe | undefined;
  let serviceUrl: string | undefined;
  let replayDone: Promise<ReplayResult | undefined> = Promise.resolve(undefined);
  const trainOffline = async (offlineId: string) => {
    say(`offline: training ${flags.rows} synthetic rows with AGP (workflow ${offlineId})…`);
    const offlineHandle = await viaTemporal(`starting ${offlineId}`, () =>
      client.workflow
        .start(offlineTraining, {
          taskQueue: config.taskQueue,
          workflowId: offlineId,
          args: [
            {
              model: flags.model,
              trainConfig: demoTrainConfig({
                model: flags.model,
                rows: flags.rows,
                testRows: flags.testRows,
              }),
            },
          ],
        })
        .catch((error: unknown) => {
          // An attempt whose reply was lost in the outage did start it.
          if (error instanceof WorkflowExecutionAlreadyStartedError)
            return client.workflow.getHandle<typeof offlineTraining>(offlineId);
          throw error;
        }),
    );
    return Promise.race([
      viaTemporal(`waiting for ${offlineId}`, () => offlineHandle.result()),
      workerStopped,
    ]);
  };
  try {
    // 1. Offline AGP training → the first version; or, when the model already has versions (a
    // second `npm start` on the same data), its lineage continues from `latest`.
    const existing = await registry.latest(flags.model);
    const offlineId = `agp-offline-${flags.model}-${stamp}`;
    let offline: { version: string; metrics: Record<string, number>; summary: string };
    if (existing !== null && !flags.fresh) {
      say(
        `offline: ${flags.model} already has versions (latest ${existing}) in ${registry.location}: ` +
          `continuing its lineage from ${existing}, no offline training (npm start -- --fresh trains a new model)`,
      );
      // No offline run this time: the summary's offline line has nothing to report.
      offline = { version: existing, metrics: {}, summary: `continued from ${existing}` };
    } else {
      offline = await trainOffline(offlineId);
      say(`offline: published ${flags.model} ${offline.version}: ${offline.summary}`);
      if (existing !== null) {
        // An offline version is published as a standby beside a lineage; --fresh makes it latest.
        await registry.rollback(
          flags.model,
          ModelVersion.parse(offline.version),
          `npm start --fresh: a new offline lineage replaces ${existing}`,
        );
        say(`offline: --fresh: ${offline.version} is latest now (was ${existing}; still listed)`);
      }
    }

    // 2. A consumer of the registry prints every new version.
    // Only this run's lineage counts (another publisher of the model may be running).
    const lineage = new Set<string>([offline.version]);
    watch = await watchRegistry(kafka, registry, flags.model, (m) => {
      if (m.parent === null || !lineage.has(m.parent)) {
        say(`registry: ${m.version} (${m.phase}) from another run of ${flags.model}, not counted`);
        return;
      }
      lineage.add(m.version);
      seen.push(m);
      receivedAt.set(m.version, Date.now());
      const r = m.dataRange.kind === 'recurring' ? m.dataRange : undefined;
      say(
        `registry: ${m.version} (${m.phase}, parent ${m.parent ?? '—'}) events ${r?.events ?? '—'} ` +
          `NE ${fmt(m.metrics['ne'])} AUC ${fmt(m.metrics['auc'])} ` +
          `dead-lettered ${m.metrics['deadLettered'] ?? 0} freshness ${fmt(m.metrics['freshnessSeconds'], 1)} s`,
      );
    });

    // 2b. The scoring service follows the registry; a client probes it every 100 ms, so the
    // summary can say when each version first answered (click → served).
    service = await createScoringService({
      store: registry,
      models: [{ model: flags.model, policy: { kind: 'latest' } }],
      kafka,
      log: say,
    });
    const scoring = service;
    const address = await scoring
      .listen(flags.servePort)
      .catch((error: unknown) =>
        (error as { code?: string }).code === 'EADDRINUSE'
          ? scoring.listen(0)
          : Promise.reject(error),
      );
    serviceUrl = address;
    say(`serve: scoring service on ${address} (POST /v1/models/${flags.model}:predict)`);
    const offlineManifest = await registry.get(flags.model, ModelVersion.parse(offline.version));
    probe = startServedProbe(address, flags.model, featureSpecOfManifest(offlineManifest));

    // 3. Replay later clicks (same teacher, new rows) into a fresh topic, plus a few bad ones.
    await viaKafka('creating topics', () =>
      createTopicsReady(kafka, [{ topic, numPartitions: 3 }, { topic: `${topic}.dlq` }]),
    );
    await viaKafka('connecting the replay producer', () => producer.connect());
    if (flags.badEvents > 0) {
      await viaKafka('producing the bad events', () =>
        producer.send({
          topic,
          messages: Array.from({ length: flags.badEvents }, (_, i) => ({
            key: `bad-${i}`,
            value: i % 2 ? '{"v":1,"eventId":' : JSON.stringify({ v: 1, eventId: `bad-${i}` }),
          })),
        }),
      );
    }
    // The replay runs until the recurring workflow ends (it is aborted then), as a live stream
    // would: a finite one ran dry when versions grew past `eventsPerVersion` (a boundary due
    // while the previous version publishes is deferred, e.g. catching up after an outage), and
    // the workflow then waited for versions that no event would ever make.
    const streamRows = 1e9;
    const { rows } = syntheticEventRows({
      preset: 'capacity-bound',
      seed: 2,
      teacherSeed: 1,
      split: 'train',
      rows: streamRows,
    });
    say(`replay: streaming clicks into ${topic} at ${flags.rate} events/s`);
    replayDone = replay(rows, {
      producer,
      topic,
      rate: flags.rate,
      signal: stopReplay.signal,
      outageLimitMs: limitMs,
      log: (line) => say(`replay: ${line}`),
    }).catch((error: unknown) => {
      say(`replay: stopped: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });

    // 4. The recurring phase, from the offline version, until enough versions.
    const recurringId = recurringWorkflowId(flags.model);
    say(
      `recurring: workflow ${recurringId}: a version every ${flags.eventsPerVersion} events` +
        (flags.forever ? ', until Ctrl-C' : `, ${flags.versions} versions`),
    );
    const handle = await viaTemporal(`starting ${recurringId}`, () =>
      client.workflow.start(recurringTraining, {
        taskQueue: config.taskQueue,
        workflowId: recurringId,
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
        args: [
          {
            model: flags.model,
            fromVersion: offline.version,
            topic,
            // Windows of the workflow's default length (windowSeconds).
            publishEvery: { events: flags.eventsPerVersion, seconds: 60 },
            ...(flags.forever ? {} : { maxVersions: flags.versions }),
          },
        ],
      }),
    );
    const stopOnSignal = new Promise<RecurringState | undefined>((resolve) => {
      const onSignal = (): void => {
        say('\nstopping (the recurring workflow keeps its state; `npm run worker` continues it)…');
        resolve(undefined);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    // Ctrl-C also shuts the in-process worker down (the SDK's own signal handling), so the
    // summary then comes from what the registry watcher saw, not from a status query.
    const state = await Promise.race([
      viaTemporal(`waiting for ${recurringId}`, () => handle.result()),
      stopOnSignal,
      workerStopped,
    ]);
    stopReplay.abort();
    const replayed = await replayDone;
    if (state) await waitForAnnouncements(seen, state.published);
    if (state) await waitForServed(probe, state.published);
    summary(flags, offline.metrics, state, seen, receivedAt, replayed, probe.firstServed);
    say(`\nwhere to look:`);
    if (config.temporal.uiUrl) {
      say(
        `  Temporal UI: ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
      );
      say(
        `    (search: AgpModel="${flags.model}"; runs ${existing !== null && !flags.fresh ? '' : `${offlineId}, `}${recurringId})`,
      );
    }
    say(`  registry:    ${registry.location}/${flags.model}  (npx agp registry ls ${flags.model})`);
    say(
      `  scoring:     ${serviceUrl}/v1/models/${flags.model} (stops with this run; npx agp serve --model ${flags.model} serves on)`,
    );
    if (config.temporal.embedded || config.kafka.embedded) {
      say('  the servers keep running; stop them with: npm run infra:down');
    }
    return 0;
  } finally {
    stopReplay.abort();
    await replayDone;
    await watch?.stop();
    await probe?.stop();
    await service?.close();
    await producer.disconnect();
    await announcer.disconnect();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
    await close();
    await connection.close();
  }
}

/** Waits (up to 10 s) until the newest published version has answered the probe. */
async function waitForServed(probe: ServedProbe, published: string[]): Promise<void> {
  const newest = published.at(-1);
  const deadline = Date.now() + 10_000;
  while (newest !== undefined && Date.now() < deadline && !probe.firstServed.has(newest)) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Click → served: for the oldest and the newest event of each recurring version, the time from
 * its event time to the first probe answered by a version that trained on it (that version or
 * a later one of the lineage: a version superseded before it was loaded is never served).
 */
function clickToServed(recurring: Manifest[], firstServed: ReadonlyMap<string, number>): number[] {
  const samples: number[] = [];
  recurring.forEach((m, i) => {
    if (m.dataRange.kind !== 'recurring' || m.dataRange.eventTime === null) return;
    const served = recurring
      .slice(i)
      .map((later) => firstServed.get(later.version))
      .filter((t): t is number => t !== undefined);
    if (served.length === 0) return;
    const at = Math.min(...served);
    for (const t of [m.dataRange.eventTime.min, m.dataRange.eventTime.max]) {
      samples.push((at - Date.parse(t)) / 1000);
    }
  });
  return samples;
}

/** Waits (up to 10 s) until the watcher has printed every published version. */
async function waitForAnnouncements(seen: Manifest[], published: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !published.every((v) => seen.some((m) => m.version === v))) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

function summary(
  flags: Flags,
  offlineMetrics: Record<string, number>,
  state: RecurringState | undefined,
  seen: Manifest[],
  receivedAt: ReadonlyMap<string, number>,
  replayed: ReplayResult | undefined,
  firstServed: ReadonlyMap<string, number>,
): void {
  const recurring = seen.filter((m) => m.phase === 'recurring');
  const newestEvent = (m: Manifest): number | undefined =>
    m.dataRange.kind === 'recurring' && m.dataRange.eventTime
      ? Date.parse(m.dataRange.eventTime.max)
      : undefined;
  // Freshness as a consumer sees it: from the newest event a version holds to the moment the
  // registry watcher received that version (checkpoint, publish and announcement included).
  const visible = recurring.flatMap((m) => {
    const t = newestEvent(m);
    const got = receivedAt.get(m.version);
    return t === undefined || got === undefined ? [] : [(got - t) / 1000];
  });
  // Publish time: from the start of the checkpoint write to the manifest's creation.
  const publishing = recurring.flatMap((m) => {
    const t = newestEvent(m);
    const f = m.metrics['freshnessSeconds'];
    return t === undefined || f === undefined ? [] : [(Date.parse(m.createdAt) - t) / 1000 - f];
  });
  const events = (m: Manifest) =>
    m.dataRange.kind === 'recurring' ? (m.dataRange.events ?? 0) : 0;
  const saves = recurring
    .map((m) => m.metrics['checkpointSeconds'])
    .filter((x): x is number => x !== undefined);
  const offlineRate = offlineMetrics['samplesPerSecond'];
  say('\nsummary:');
  say(`  offline:     test NE ${fmt(offlineMetrics['ne'])}, ${fmt(offlineRate, 0)} samples/s`);
  const trained = recurring.reduce((sum, m) => sum + events(m), 0);
  const dead = recurring.reduce((sum, m) => sum + (m.metrics['deadLettered'] ?? 0), 0);
  say(
    `  versions:    ${recurring.length} recurring (${recurring.map((m) => m.version).join(', ')})`,
  );
  say(`  events:      ${trained} trained, ${dead} dead-lettered`);
  say(`  streaming NE ${fmt(recurring.at(-1)?.metrics['ne'])} (last version)`);
  if (state) {
    const ratio = offlineRate
      ? ` (${(state.eventsPerSecond / offlineRate).toFixed(2)}× offline)`
      : '';
    const bound = state.eventsPerSecond > 0.9 * flags.rate ? ', bounded by the replay rate' : '';
    say(
      `  throughput:  ${state.eventsPerSecond.toFixed(0)} events/s in the last window${ratio}${bound}`,
    );
    say(`  lag:         ${state.lag} events behind the newest at the end`);
  }
  say(
    `  freshness:   median ${fmt(median(visible), 1)} s, max ${fmt(visible.length ? Math.max(...visible) : undefined, 1)} s ` +
      `(newest event of a version → that version received by a registry watcher, over ${visible.length} versions)`,
  );
  const served = clickToServed(recurring, firstServed);
  say(
    `  click → served: median ${fmt(median(served), 1)} s, max ${fmt(served.length ? Math.max(...served) : undefined, 1)} s ` +
      `(event time → first prediction served by a version that trained on it; oldest and newest event of each of ${served.length / 2} versions)`,
  );
  say(
    `  publish:     median ${fmt(median(publishing), 3)} s, max ${fmt(publishing.length ? Math.max(...publishing) : undefined, 3)} s per version (checkpoint write + registry publish)`,
  );
  say(`  checkpoint:  median ${fmt(median(saves), 2)} s to write per version`);
  if (replayed)
    say(
      `  replay:      ${replayed.events} events at ${replayed.eventsPerSecond.toFixed(0)} events/s`,
    );
  if (!flags.forever && recurring.length < flags.versions) {
    say(`  WARNING: only ${recurring.length} of ${flags.versions} versions were seen`);
  }
}

/**
 * One line per link of the cause chain (workflow → activity → our error), without stacks for
 * Temporal failures and user mistakes, so a failed run says what failed and why.
 */
function describeFailure(error: unknown): string {
  const lines: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (e instanceof Error) {
      lines.push(`${depth ? '  caused by ' : ''}${e.name}: ${e.message}`);
      e = e.cause;
    } else {
      lines.push(String(e));
      break;
    }
  }
  return lines.join('\n');
}

runMain('pipeline', () => main(process.argv.slice(2)), {
  exit: true,
  describe: (error) =>
    error instanceof AgpError || (error instanceof Error && error.cause === undefined)
      ? topLevelMessage(error)
      : describeFailure(error),
});
