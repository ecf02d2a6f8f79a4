import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Kafka, Message, Producer } from 'kafkajs';
import { REFERENCE_OPTIMIZERS } from '../../schemas/model-config';
import type { RecurringState } from '../../schemas/workflow-io';
import { auditChain, type ChainAudit } from '../../src/registry/audit';
import type { RegistryStore } from '../../src/registry/store';
import { createTopicsReady } from '../../src/stream/create-topics';
import { createKafka } from '../../src/stream/kafka-client';
import { createReplayProducer } from '../../src/stream/replay';
import { offlineTraining, recurringTraining } from '../../workflows';
import { duplicatedAndLost, recurringManifests } from '../../infra/fleet/audit';
import { clickMessages } from '../../infra/fleet/click-stream';
import {
  identityOf,
  pollUntil,
  recurringVersions,
  workerNames,
  runningWindow,
  type RecurringHandle,
  type RunningWindow,
} from '../../infra/fleet/windows';
import { startFleetServers } from '../../infra/fleet/servers';
import { openPrivateS3Registry, type PrivateS3 } from '../../infra/private-s3';
import { FLEET_PORTS, type PrivateStack } from '../../infra/private-stack';
import { startWorker, type WorkerProcess } from '../../infra/worker-process';
import { sleep, within } from './deadlines';

/**
 * Issue 15 item 3, a fleet: worker processes that share nothing but Temporal, Kafka and the S3
 * registry (each its own AGP_DATA_DIR, so its own registry cache and runs, as on separate
 * hosts) train several models at once. The worker running a recurring window is SIGKILLed in
 * the middle of it; the window must resume on another worker from the registry's latest version
 * and its offsets, within seconds rather than the default heartbeat timeout's minute, with no
 * event trained twice or lost across workers (the registry audit). Kills repeat, a fresh worker replacing each lost
 * one, until every model has failed over once, since where Temporal places each window is not
 * the test's choice. It prints the failover times as `# fleet:` lines.
 */

const TAG = randomUUID().slice(0, 4);
const TASK_QUEUE = `agp-fleet-${TAG}`;
/** Offline seed → the stream's teacher, so the stream continues the offline data's concept. */
const MODELS = [
  { name: `fleet-a-${TAG}`, seed: 1 },
  { name: `fleet-b-${TAG}`, seed: 3 },
] as const;
const EVENTS_PER_VERSION = 600;
const WINDOW_VERSIONS = 3;
const MAX_VERSIONS = 6;
/**
 * Events per second per model. Slow enough that the stream outlasts a failover or two (each
 * round needs a model with versions still to come), fast enough to keep the test short.
 */
const RATE = 40;
/** How long a silent window is trusted (the product's default is 60 s). */
const HEARTBEAT_TIMEOUT_SECONDS = 10;

interface Failover {
  round: number;
  model: string;
  victim: string;
  /** From the SIGKILL to the first version published after it. */
  seconds: number;
  /** From the SIGKILL to the server handing the window to another worker (null if unseen). */
  retrySeconds: number | null;
  version: string;
  /** The worker the window moved to. */
  takenBy: string;
}

const say = (line: string): void => void process.stdout.write(`# fleet: ${line}\n`);

/** Sends `messages` at `RATE` per second (kept apart from the training: it is the live stream). */
async function paced(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  const started = Date.now();
  const chunk = Math.ceil(RATE / 5);
  for (let i = 0; i < messages.length; i += chunk) {
    const due = started + (i / RATE) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    await producer.send({ topic, messages: messages.slice(i, i + chunk) });
  }
}

void describe('a fleet of workers: a SIGKILLed worker’s windows move to another', () => {
  let stack: PrivateStack;
  let s3: PrivateS3;
  let connection: Connection;
  let client: Client;
  let kafka: Kafka;
  let registry: RegistryStore;
  let testDir: string;
  const workers: WorkerProcess[] = [];
  const names = workerNames();
  const { nameOf } = names;
  const workerDirs: string[] = [];

  /** A worker on a host of its own: its own data directory, the shared S3 registry. */
  const addWorker = async (): Promise<WorkerProcess> => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'agp-fleet-worker-'));
    workerDirs.push(dataDir);
    const w = startWorker({ ...stack.childEnv, ...s3.env, AGP_DATA_DIR: dataDir });
    workers.push(w);
    names.add(w);
    return w;
  };

  before(async () => {
    ({ stack, s3 } = await startFleetServers(TASK_QUEUE, FLEET_PORTS));
    testDir = await mkdtemp(path.join(tmpdir(), 'agp-fleet-test-'));
    // The location as the workers read it from the same variables.
    registry = await openPrivateS3Registry(s3, testDir);
    const [a, b] = [await addWorker(), await addWorker()];
    await Promise.all([a.ready(), b.ready()]);
    connection = await Connection.connect({ address: stack.config.temporal.address });
    client = new Client({ connection, namespace: stack.config.temporal.namespace });
    kafka = createKafka(stack.config.kafka, { clientId: 'agp-fleet' });
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGTERM').catch(() => undefined)));
    await connection?.close();
    await stack?.dispose();
    await s3?.dispose();
    // A worker SIGKILLed while publishing left its staging under its data directory.
    for (const dir of [...workerDirs, testDir]) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  });

  void it(
    'resumes every window on another worker, exactly once, within seconds',
    { timeout: 600_000 },
    async () => {
      const started = Date.now();
      const handles = new Map<string, RecurringHandle>();
      const diagnose = async (): Promise<string> => {
        const lines: string[] = [];
        for (const { name } of MODELS) {
          const handle = handles.get(name);
          try {
            if (handle !== undefined) {
              const d = await handle.describe();
              lines.push(`workflow ${d.workflowId}: ${d.status.name}`);
              for (const a of d.raw.pendingActivities ?? []) {
                lines.push(
                  `  pending ${a.activityType?.name}: state ${a.state}, attempt ${a.attempt}, ` +
                    `worker ${nameOf(a.lastWorkerIdentity ?? undefined)}, ` +
                    `last heartbeat ${a.lastHeartbeatTime?.seconds?.toString() ?? 'none'}, ` +
                    `last failure ${a.lastFailure?.message ?? 'none'}`,
                );
              }
            }
          } catch (error) {
            lines.push(`workflow of ${name}: cannot describe (${String(error)})`);
          }
          const versions = await recurringVersions(registry, name).catch(() => []);
          lines.push(`${name} recurring: ${versions.map((v) => v.version).join(', ') || 'none'}`);
        }
        for (const w of workers) {
          lines.push(
            `worker ${nameOf(identityOf(w))} pid ${w.pid} (${w.exit() ?? 'running'}), last output:\n` +
              w.output().slice(-2000),
          );
        }
        return lines.join('\n');
      };

      // Offline training of both models at once: the fleet splits them however it likes.
      const offline = await within(
        Promise.all(
          MODELS.map(({ name, seed }) =>
            client.workflow.execute(offlineTraining, {
              taskQueue: TASK_QUEUE,
              workflowId: `agp-offline-${name}`,
              args: [
                {
                  model: name,
                  trainConfig: {
                    name,
                    data: {
                      train: {
                        kind: 'synthetic',
                        preset: 'capacity-bound',
                        seed,
                        split: 'train',
                        rows: 20_000,
                      },
                      test: {
                        kind: 'synthetic',
                        preset: 'capacity-bound',
                        seed,
                        split: 'test',
                        rows: 2_000,
                      },
                    },
                    // The fault suite's optimizers, whose behaviour on this data is known.
                    model: { ...REFERENCE_OPTIMIZERS },
                    evalPoints: 2,
                    seed,
                  },
                },
              ],
            }),
          ),
        ),
        300_000,
        'offline training',
        diagnose,
      );
      const offlineSeconds = (Date.now() - started) / 1000;
      for (const o of offline) {
        const history = await client.workflow.getHandle(`agp-offline-${o.model}`).fetchHistory();
        const ranBy = (history.events ?? [])
          .map((e) => e.activityTaskStartedEventAttributes?.identity)
          .filter((id): id is string => typeof id === 'string' && id !== '');
        say(
          `offline ${o.model} ${o.version} on worker ${ranBy.map(nameOf).join(', ')}: ${o.summary}`,
        );
      }

      // One live stream and one recurring workflow per model, sized so the last version ends
      // exactly at the end of the topic.
      const total = EVENTS_PER_VERSION * MAX_VERSIONS;
      const topicOf = (model: string): string => `fleet.clicks.${model}`;
      await createTopicsReady(
        kafka,
        MODELS.flatMap(({ name }) => [
          { topic: topicOf(name), numPartitions: 3 },
          { topic: `${topicOf(name)}.dlq` },
        ]),
      );
      const producer = createReplayProducer(kafka);
      await producer.connect();
      const producing = Promise.all(
        MODELS.map(({ name, seed }) =>
          paced(producer, topicOf(name), clickMessages(seed, total, 'fleet')),
        ),
      );
      for (const [i, { name }] of MODELS.entries()) {
        handles.set(
          name,
          await client.workflow.start(recurringTraining, {
            taskQueue: TASK_QUEUE,
            workflowId: `agp-recurring-${name}`,
            args: [
              {
                model: name,
                fromVersion: offline[i]?.version ?? '',
                topic: topicOf(name),
                // A finite stream of exactly maxVersions versions' events: no boundary deferred.
                publishEvery: { events: EVENTS_PER_VERSION, exact: true },
                windowVersions: WINDOW_VERSIONS,
                maxVersions: MAX_VERSIONS,
                publishEverySeconds: 3600,
                heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
              },
            ],
          }),
        );
      }
      const handleOf = (model: string): RecurringHandle => {
        const h = handles.get(model);
        assert.ok(h, `no workflow for ${model}`);
        return h;
      };

      // Every model's windows, per the identities Temporal recorded running them.
      const ranOn = new Map<string, Set<string>>(MODELS.map(({ name }) => [name, new Set()]));
      const failovers: Failover[] = [];
      const pending = (): string[] =>
        MODELS.map((m) => m.name).filter((m) => !failovers.some((f) => f.model === m));

      await pollUntil(
        async () => {
          for (const { name } of MODELS) {
            if ((await recurringVersions(registry, name)).length === 0) return undefined;
          }
          return true;
        },
        180_000,
        'a recurring version of every model',
        diagnose,
      );

      for (let round = 1; pending().length > 0; round++) {
        assert.ok(round <= 2 * MODELS.length, `no failover of ${pending().join(', ')}`);
        // A window of a model that has not failed over yet, running on a live worker.
        const live = workers.filter((w) => w.exit() === null);
        const victim = await pollUntil(
          async () => {
            for (const m of pending()) {
              const identity = (await runningWindow(handleOf(m)))?.identity;
              const host = live.find((w) => identityOf(w) === identity);
              if (host) return host;
            }
            return undefined;
          },
          120_000,
          `a running window of ${pending().join(' or ')}`,
          diagnose,
        );
        const victimId = identityOf(victim);
        const onVictim: string[] = [];
        for (const { name } of MODELS) {
          if ((await runningWindow(handleOf(name)))?.identity === victimId) onVictim.push(name);
        }
        const killedAt = Date.now();
        await victim.kill('SIGKILL');
        const deadAt = Date.now();
        // The server still holds the window as started by the dead worker until the heartbeat
        // timeout: that, not the look before the kill, proves the kill struck mid-window.
        const struck: string[] = [];
        for (const name of onVictim) {
          if ((await runningWindow(handleOf(name)))?.identity === victimId) {
            struck.push(name);
            ranOn.get(name)?.add(victimId);
          }
        }
        const counts = await Promise.all(
          struck.map(async (m) => `${m} at ${(await recurringVersions(registry, m)).length}`),
        );
        say(
          `round ${round}: SIGKILL worker ${nameOf(victimId)} mid-window of ` +
            `${struck.join(', ') || 'nothing (its window ended first)'} (recurring versions: ${counts.join(', ')})`,
        );
        // A lost host is replaced, as an operator would; the survivors do not wait for it.
        const replacement = await addWorker();

        // Every struck model at once: the retried attempt as soon as another worker holds it
        // (a window can publish and end between two looks), and the first version after the kill.
        const retried = new Map<string, RunningWindow>();
        const next = new Map<string, { version: string; at: number }>();
        await pollUntil(
          async () => {
            for (const name of struck) {
              const w = await runningWindow(handleOf(name));
              if (!retried.has(name) && w !== undefined && w.identity !== victimId) {
                retried.set(name, w);
              }
              const after = (await recurringVersions(registry, name)).find((v) => v.at > deadAt);
              if (after !== undefined && !next.has(name)) next.set(name, after);
            }
            return next.size === struck.length ? true : undefined;
          },
          180_000,
          `a version of ${struck.join(', ')} after the kill`,
          diagnose,
        );
        for (const name of struck) {
          const version = next.get(name);
          assert.ok(version);
          const retry = retried.get(name);
          const f: Failover = {
            round,
            model: name,
            victim: nameOf(victimId),
            seconds: (version.at - killedAt) / 1000,
            retrySeconds: retry === undefined ? null : (retry.startedAt - killedAt) / 1000,
            version: version.version,
            takenBy:
              retry === undefined
                ? 'unseen'
                : `${nameOf(retry.identity)}, attempt ${retry.attempt}`,
          };
          failovers.push(f);
          say(
            `round ${round}: ${name} failed over in ${f.seconds.toFixed(1)} s (${f.version}; ` +
              `window retried on ${f.takenBy} ${f.retrySeconds?.toFixed(1) ?? '?'} s after the kill)`,
          );
        }
        await replacement.ready();
      }

      await within(producing, 240_000, 'producing the streams', diagnose);
      await producer.disconnect();
      const results = new Map<string, RecurringState>();
      for (const { name } of MODELS) {
        results.set(
          name,
          await within(handleOf(name).result(), 240_000, `recurringTraining of ${name}`, diagnose),
        );
        // The final attempt of each window, as recorded in the history: who finished it.
        const history = await handleOf(name).fetchHistory();
        for (const e of history.events ?? []) {
          const identity = e.activityTaskStartedEventAttributes?.identity;
          if (identity) ranOn.get(name)?.add(identity);
        }
      }

      // The audit, per model: no fork, no overlap, no gap, and the chain covers its topic.
      const admin = kafka.admin();
      await admin.connect();
      const audits = new Map<string, ChainAudit & { duplicated: number; lost: number }>();
      try {
        for (const { name } of MODELS) {
          const manifests = await recurringManifests(registry, name);
          const topic = topicOf(name);
          const ends = new Map(
            (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]),
          );
          const audit = auditChain(manifests, (m) => m.gate?.held === true);
          assert.deepEqual(audit.problems, [], `${name}: ${audit.problems.join('; ')}`);
          for (const [partition, end] of ends) {
            assert.deepEqual(
              audit.coverage[`${topic}/${partition}`],
              [0, end],
              `${name}: partition ${partition} fully covered`,
            );
          }
          const counts = duplicatedAndLost(manifests, topic, ends);
          assert.deepEqual(counts, { duplicated: 0, lost: 0 }, `${name}: exactly once`);
          audits.set(name, { ...audit, ...counts });
        }
      } finally {
        await admin.disconnect();
      }
      // Manifests do not record which worker published a version; the windows' identities
      // (seen running before a kill, and finishing afterwards) stand for it.
      for (const { name } of MODELS) {
        const hosts = [...(ranOn.get(name) ?? [])];
        assert.ok(hosts.length >= 2, `${name}'s windows ran on ${hosts.map(nameOf).join(', ')}`);
      }
      // Task tokens are credentials; core logs them on "Activity not found on completion".
      for (const w of workers) assert.doesNotMatch(w.output(), /TaskToken\(/);

      say(
        `${MODELS.length} models, ${workers.length} workers (${workers.filter((w) => w.exit() !== null).length} SIGKILLed), ` +
          `offline phase ${offlineSeconds.toFixed(1)} s, whole run ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      for (const { name } of MODELS) {
        const state = results.get(name);
        const audit = audits.get(name);
        say(
          `${name}: ${state?.versionsPublished} versions (${audit?.served} served, ${audit?.held} held), ` +
            `${state?.eventsTrained} events trained of ${total}, ${state?.deadLettered} dead-lettered; ` +
            `windows ran on ${[...(ranOn.get(name) ?? [])].map(nameOf).join(', ')}; ` +
            `events lost ${audit?.lost} / duplicated ${audit?.duplicated}`,
        );
      }
      // A failover is the heartbeat timeout (the retry starting elsewhere), then the retry's
      // wait to join the model's consumer group: Kafka completes that rebalance only once the
      // dead worker's member is evicted, after its session timeout (kafkajs' default, 30 s).
      for (const f of failovers) {
        say(
          `failover ${f.model} (round ${f.round}): ${f.seconds.toFixed(1)} s from SIGKILL of worker ` +
            `${f.victim} to ${f.version}; the window retried on worker ${f.takenBy} after ` +
            `${f.retrySeconds?.toFixed(1) ?? '?'} s (heartbeat timeout ${HEARTBEAT_TIMEOUT_SECONDS} s)`,
        );
      }
    },
  );
});
