import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { Kafka, Message } from 'kafkajs';
import type { ClickEvent } from '../../schemas/click-event';
import { ModelVersion } from '../../schemas/manifest';
import { REFERENCE_OPTIMIZERS } from '../../schemas/model-config';
import { OfflineHeartbeat } from '../../schemas/workflow-io';
import { publishStagingRoot } from '../../src/pipeline/publish-staging';
import { syntheticEventRows } from '../../src/pipeline/synthetic-events';
import type { RegistryStore } from '../../src/registry/store';
import { createTopicsReady } from '../../src/stream/create-topics';
import { createKafka } from '../../src/stream/kafka-client';
import { createReplayProducer } from '../../src/stream/replay';
import { offlineTraining, recurringTraining } from '../../workflows';
import { startFleetServers } from '../../infra/fleet/servers';
import { identityOf, pollUntil, workerNames } from '../../infra/fleet/windows';
import { openPrivateS3Registry, type PrivateS3 } from '../../infra/private-s3';
import { OFFLINE_FAILOVER_PORTS, type PrivateStack } from '../../infra/private-stack';
import { startWorker, type WorkerProcess } from '../../infra/worker-process';
import { within } from './deadlines';

/**
 * Issue 15 item 3, the offline phase: two `npm run worker` processes that share only Temporal,
 * Kafka and an S3 registry (each its own AGP_DATA_DIR, as on separate hosts). The worker
 * running an offline training is SIGKILLed once the server has seen it heartbeat progress; the
 * run must be retried on the other worker within the heartbeat timeout plus the retry's
 * backoff, retrained there from scratch under that worker's own data directory (the dead one's
 * path is another host's), publish exactly one offline version, and the recurring phase must
 * continue from it. Worker start must also have swept the staging a dead process left. It
 * prints the times as `# offline-failover:` lines.
 */

const TAG = randomUUID().slice(0, 4);
const TASK_QUEUE = `agp-offline-failover-${TAG}`;
const MODEL = `offline-kill-${TAG}`;
const SEED = 1;
/** How long a silent offline attempt is trusted (the product's default is 120 s). */
const HEARTBEAT_TIMEOUT_SECONDS = 10;
/** The workflow's retry backoff after the timeout (workflows/offline-training.ts). */
const RETRY_INITIAL_SECONDS = 2;
const EVENTS_PER_VERSION = 300;
const RECURRING_VERSIONS = 2;

type OfflineHandle = WorkflowHandle<typeof offlineTraining>;

const say = (line: string): void => void process.stdout.write(`# offline-failover: ${line}\n`);
/** `temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED`. */
const PENDING_ACTIVITY_STARTED = 2;

/** The attempt of the offline activity running now (state STARTED), if one is. */
interface RunningAttempt {
  identity: string;
  attempt: number;
  /** When the server handed this attempt to its worker, ms since the epoch. */
  startedAt: number;
  /** The step of its last heartbeat the server holds (0 before any progress). */
  step: number;
}

async function runningAttempt(handle: OfflineHandle): Promise<RunningAttempt | undefined> {
  const d = await handle.describe();
  const a = (d.raw.pendingActivities ?? []).find(
    (p) =>
      p.activityType?.name === 'trainOfflineModel' && Number(p.state) === PENDING_ACTIVITY_STARTED,
  );
  if (!a?.lastWorkerIdentity) return undefined;
  const t = a.lastStartedTime;
  const payload = a.heartbeatDetails?.payloads?.[0];
  const beat =
    payload === undefined
      ? undefined
      : OfflineHeartbeat.safeParse(defaultPayloadConverter.fromPayload(payload as Payload));
  return {
    identity: a.lastWorkerIdentity,
    attempt: a.attempt ?? 1,
    startedAt: t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN,
    step: beat?.success ? beat.data.step : 0,
  };
}

/** Polls `check` until it returns a value, or fails with `diagnose()`'s account. */
/** A pid that was a process of this host a moment ago and is not any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/** Valid click events from the offline data's teacher, so the stream continues its concept. */
function streamOf(count: number): Message[] {
  const { rows } = syntheticEventRows({
    preset: 'capacity-bound',
    seed: SEED + 1,
    teacherSeed: SEED,
    split: 'train',
    rows: count,
  });
  const now = Date.now();
  return [...rows].slice(0, count).map((row, i) => {
    const event: ClickEvent = { v: 1, eventId: `offline-kill-${i}`, eventTime: now, ...row };
    return { key: event.eventId, value: JSON.stringify(event) };
  });
}

void describe('a worker SIGKILLed mid-offline-run: the run moves to another worker', () => {
  let stack: PrivateStack;
  let s3: PrivateS3;
  let connection: Connection;
  let client: Client;
  let kafka: Kafka;
  let registry: RegistryStore;
  let testDir: string;
  const workers: WorkerProcess[] = [];
  const dataDirs = new Map<WorkerProcess, string>();
  const names = workerNames();
  const { nameOf } = names;
  /** Staging a dead process left in each worker's data directory before it started. */
  const planted: string[] = [];

  const addWorker = async (): Promise<WorkerProcess> => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'agp-offline-failover-worker-'));
    const leftover = path.join(
      publishStagingRoot(dataDir),
      [hostname(), await deadPid(), MODEL, Date.now(), 0].join('~'),
    );
    await mkdir(leftover, { recursive: true });
    await writeFile(path.join(leftover, 'weights.bin'), Buffer.alloc(1024));
    planted.push(leftover);
    const w = startWorker({ ...stack.childEnv, ...s3.env, AGP_DATA_DIR: dataDir });
    workers.push(w);
    dataDirs.set(w, dataDir);
    names.add(w);
    return w;
  };

  before(async () => {
    ({ stack, s3 } = await startFleetServers(TASK_QUEUE, OFFLINE_FAILOVER_PORTS));
    testDir = await mkdtemp(path.join(tmpdir(), 'agp-offline-failover-test-'));
    // The location as the workers read it from the same variables.
    registry = await openPrivateS3Registry(s3, testDir);
    const [a, b] = [await addWorker(), await addWorker()];
    await Promise.all([a.ready(), b.ready()]);
    connection = await Connection.connect({ address: stack.config.temporal.address });
    client = new Client({ connection, namespace: stack.config.temporal.namespace });
    kafka = createKafka(stack.config.kafka, { clientId: 'agp-offline-failover' });
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGTERM').catch(() => undefined)));
    await connection?.close();
    await stack?.dispose();
    await s3?.dispose();
    for (const dir of [...dataDirs.values(), testDir]) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  });

  void it(
    'retries the run on the other worker within the heartbeat timeout and publishes it once',
    { timeout: 300_000 },
    async () => {
      // Worker start swept what a dead process was publishing from its data directory.
      for (const leftover of planted) assert.equal(existsSync(leftover), false, leftover);

      const workflowId = `agp-offline-${MODEL}`;
      const handle = await client.workflow.start(offlineTraining, {
        taskQueue: TASK_QUEUE,
        workflowId,
        args: [
          {
            model: MODEL,
            heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
            // Local checkpoints the survivor must not try to reach (they are on another host).
            checkpointEvery: 500,
            trainConfig: {
              name: MODEL,
              data: {
                train: {
                  kind: 'synthetic',
                  preset: 'capacity-bound',
                  seed: SEED,
                  split: 'train',
                  rows: 150_000,
                },
                test: {
                  kind: 'synthetic',
                  preset: 'capacity-bound',
                  seed: SEED,
                  split: 'test',
                  rows: 2_000,
                },
              },
              // Three passes: training long enough (~15 s on a quiet machine) for the kill to land in it.
              epochs: 3,
              model: { ...REFERENCE_OPTIMIZERS },
              evalPoints: 2,
              seed: SEED,
            },
          },
        ],
      });
      const diagnose = async (): Promise<string> => {
        const lines: string[] = [];
        try {
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
        } catch (error) {
          lines.push(`workflow: cannot describe (${String(error)})`);
        }
        for (const w of workers) {
          lines.push(
            `worker ${nameOf(identityOf(w))} pid ${w.pid} (${w.exit() ?? 'running'}), last output:\n` +
              w.output().slice(-2000),
          );
        }
        return lines.join('\n');
      };

      // The kill lands only once the server holds a heartbeat with progress (not during start-up).
      const victimAttempt = await pollUntil(
        async () => {
          const a = await runningAttempt(handle);
          return a !== undefined && a.step > 0 ? a : undefined;
        },
        150_000,
        'an offline attempt that heartbeated progress',
        diagnose,
      );
      const victim = workers.find((w) => identityOf(w) === victimAttempt.identity);
      assert.ok(victim, `the attempt runs on an unknown worker ${victimAttempt.identity}`);
      const survivor = workers.find((w) => w !== victim);
      assert.ok(survivor);
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      // The server still holds the attempt as the dead worker's: the kill struck mid-run.
      assert.equal((await runningAttempt(handle))?.identity, victimAttempt.identity);
      say(
        `SIGKILL worker ${nameOf(victimAttempt.identity)} at step ${victimAttempt.step} ` +
          `(attempt ${victimAttempt.attempt}), heartbeat timeout ${HEARTBEAT_TIMEOUT_SECONDS} s`,
      );

      const retry = await pollUntil(
        async () => {
          const a = await runningAttempt(handle);
          return a !== undefined && a.identity !== victimAttempt.identity ? a : undefined;
        },
        (HEARTBEAT_TIMEOUT_SECONDS + RETRY_INITIAL_SECONDS + 30) * 1000,
        'the retried attempt on the other worker',
        diagnose,
      );
      const retrySeconds = (retry.startedAt - killedAt) / 1000;
      assert.equal(retry.identity, identityOf(survivor));
      // The server notices within one timeout of the last beat it heard (never later than the
      // kill), then waits the retry's backoff; a few seconds for the timer and the poll.
      assert.ok(
        retrySeconds <= HEARTBEAT_TIMEOUT_SECONDS + RETRY_INITIAL_SECONDS + 5,
        `retry started ${retrySeconds.toFixed(1)} s after the kill`,
      );

      const result = await within(handle.result(), 150_000, 'the offline run', diagnose);
      const landed = await registry.get(MODEL, ModelVersion.parse(result.version));
      const landedSeconds = (Date.parse(landed.createdAt) - killedAt) / 1000;
      say(
        `retried on worker ${nameOf(retry.identity)} (attempt ${retry.attempt}) ` +
          `${retrySeconds.toFixed(1)} s after the kill; ${result.version} landed ` +
          `${landedSeconds.toFixed(1)} s after it: ${result.summary}`,
      );

      // Exactly one offline version, recording the run that published it.
      const runId = (await handle.describe()).runId;
      const [listing] = await registry.list(MODEL);
      const offline = (listing?.versions ?? []).filter((v) => v.phase === 'offline');
      assert.deepEqual(
        offline.map((v) => v.version),
        [result.version],
      );
      assert.equal(landed.runId, `${workflowId}/${runId}`);
      const history = await handle.fetchHistory();
      const started = (history.events ?? [])
        .map((e) => e.activityTaskStartedEventAttributes)
        .filter((s) => s != null);
      assert.deepEqual(
        started.map((s) => [s.identity, s.attempt]),
        [[retry.identity, retry.attempt]],
      );

      // The survivor trained under its own data directory, from scratch (it could not reach the
      // victim's checkpoints), so its report starts after the kill.
      const runsOf = async (w: WorkerProcess): Promise<string[]> => {
        const runs = path.join(dataDirs.get(w) ?? '', 'runs');
        return existsSync(runs) ? (await readdir(runs)).map((r) => path.join(runs, r)) : [];
      };
      const [survivorRun] = await runsOf(survivor);
      assert.ok(survivorRun, "no run in the survivor's data directory");
      const report = JSON.parse(await readFile(path.join(survivorRun, 'report.json'), 'utf8')) as {
        startedAt: string;
      };
      assert.ok(
        Date.parse(report.startedAt) >= killedAt,
        `the survivor's run started at ${report.startedAt}, before the kill`,
      );
      const victimRuns = await runsOf(victim);
      say(
        `victim left ${victimRuns.length} run director${victimRuns.length === 1 ? 'y' : 'ies'}` +
          `${victimRuns.some((r) => existsSync(path.join(r, 'checkpoint'))) ? ' with a checkpoint' : ''}; ` +
          'the survivor trained from scratch in its own',
      );

      // The recurring chain continues from that version on the surviving worker.
      const topic = `offline-kill.clicks.${MODEL}`;
      await createTopicsReady(kafka, [{ topic, numPartitions: 2 }, { topic: `${topic}.dlq` }]);
      const producer = createReplayProducer(kafka);
      await producer.connect();
      try {
        await producer.send({ topic, messages: streamOf(EVENTS_PER_VERSION * RECURRING_VERSIONS) });
      } finally {
        await producer.disconnect();
      }
      const recurring = await client.workflow.start(recurringTraining, {
        taskQueue: TASK_QUEUE,
        workflowId: `agp-recurring-${MODEL}`,
        args: [
          {
            model: MODEL,
            fromVersion: result.version,
            topic,
            // A finite stream of exactly maxVersions versions' events: no boundary deferred.
            publishEvery: { events: EVENTS_PER_VERSION, exact: true },
            windowVersions: RECURRING_VERSIONS,
            maxVersions: RECURRING_VERSIONS,
            publishEverySeconds: 3600,
            heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS,
          },
        ],
      });
      const state = await within(recurring.result(), 120_000, 'recurringTraining', diagnose);
      assert.equal(state.versionsPublished, RECURRING_VERSIONS);
      const [after] = await registry.list(MODEL);
      const versions = after?.versions ?? [];
      assert.deepEqual(
        versions.filter((v) => v.phase === 'offline').map((v) => v.version),
        [result.version],
      );
      const chain = versions.filter((v) => v.phase === 'recurring');
      assert.equal(chain[0]?.parent, result.version);
      say(
        `recurring chain from ${result.version}: ${chain.map((v) => `${v.version}←${v.parent}`).join(', ')}`,
      );
      for (const w of workers) assert.doesNotMatch(w.output(), /TaskToken\(/);
    },
  );
});
