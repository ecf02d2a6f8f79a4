import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { parseInfraConfig } from '../../../src/config/env';
import { recurringWorkflowId, type RecurringStatus } from '../../../schemas/workflow-io';
import { WORKFLOWS_PATH, installQuietRuntime } from '../../../worker/create-worker';
import { upsertDailySchedule } from '../../../worker/schedule';
import { dailyRetraining, offlineTraining, recurringTraining } from '../../../workflows';
import {
  AgpGate,
  AgpModel,
  AgpPhase,
  AgpVersion,
  discardUpdate,
  pauseSignal,
  promoteUpdate,
  resumeSignal,
  statusQuery,
} from '../../../workflows/messages';
import { createFakeWorld, fakeActivities, type FakeWorld } from './fake-activities';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';

/**
 * The workflows on the real Temporal dev server, with small in-memory activities (the pipeline's
 * real activities are exercised by the end-to-end run): hand-over, pause/resume, status, promote,
 * continue-as-new, and replay of the recorded histories.
 */
describe('workflows (real Temporal dev server)', () => {
  const config = parseInfraConfig();
  const taskQueue = `test-workflows-${randomUUID()}`;
  let connection: Connection;
  let client: Client;
  let nativeConnection: NativeConnection;
  let bundle: { code: string };
  let worker: Worker;
  let running: Promise<void>;
  let world: FakeWorld;
  const completed: string[] = [];

  before(async () => {
    installQuietRuntime();
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
    nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
    bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
    world = createFakeWorld();
    worker = await Worker.create({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle: bundle,
      activities: fakeActivities(world),
    });
    running = worker.run();
  });

  after(async () => {
    worker.shutdown();
    await running;
    await nativeConnection.close();
    await connection.close();
  });

  const id = (label: string) => `test-${label}-${randomUUID()}`;

  async function waitFor<T>(
    probe: () => Promise<T>,
    ok: (value: T) => boolean,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await probe();
      if (ok(value)) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('offline → recurring: the offline version seeds the recurring phase, versions chain', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const offlineId = id('offline');
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue,
      workflowId: offlineId,
      args: [{ model, trainConfig: {} }],
    });
    completed.push(offlineId);
    const offlineDescription = await client.workflow.getHandle(offlineId).describe();
    assert.equal(offlineDescription.typedSearchAttributes.get(AgpPhase), 'offline');
    assert.equal(offlineDescription.typedSearchAttributes.get(AgpModel), model);
    assert.equal(offlineDescription.typedSearchAttributes.get(AgpVersion), offline.version);

    const recurringId = id('recurring');
    const topic = `t-${model}`;
    const state = await client.workflow.execute(recurringTraining, {
      taskQueue,
      workflowId: recurringId,
      args: [
        {
          model,
          fromVersion: offline.version,
          topic,
          eventsPerVersion: 100,
          windowVersions: 1,
          maxVersions: 3,
          startOffsets: { [topic]: { '0': '1000' } },
        },
      ],
    });
    completed.push(recurringId);
    assert.equal(state.versionsPublished, 3);
    assert.equal(state.published.length, 3);
    assert.deepEqual(state.offsets, { [topic]: { '0': '1300' } });
    assert.equal(state.eventsTrained, 3 * 99);
    assert.equal(state.deadLettered, 3);
    const calls = world.windowCalls.filter((c) => c.model === model);
    assert.equal(calls[0]?.fromVersion, offline.version);
    assert.deepEqual(calls[0]?.startOffsets, { [topic]: { '0': '1000' } });
    // Later windows start from the previous window's version and its own offsets.
    assert.equal(calls[1]?.fromVersion, state.published[0]);
    assert.equal(calls[1]?.startOffsets, undefined);
    const parents = state.published.map((v) => world.versions.get(v)?.parent);
    assert.deepEqual(parents, [offline.version, state.published[0], state.published[1]]);
    const description = await client.workflow.getHandle(recurringId).describe();
    assert.equal(description.typedSearchAttributes.get(AgpVersion), state.published[2]);
    assert.equal(description.typedSearchAttributes.get(AgpPhase), 'recurring');
  });

  it('pause holds the loop, resume continues; status reports it; promote validates versions', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue,
      workflowId: id('offline'),
      args: [{ model, trainConfig: {} }],
    });
    const topic = `t-${model}`;
    const handle = await client.workflow.start(recurringTraining, {
      taskQueue,
      workflowId: id('pause'),
      args: [{ model, fromVersion: offline.version, topic, eventsPerVersion: 10 }],
    });
    try {
      const status = () => handle.query(statusQuery);
      await waitFor(status, (s) => s.versionsPublished >= 2, 'two versions');
      await handle.signal(pauseSignal);
      const paused = await waitFor(status, (s) => s.activity === 'paused' && s.paused, 'paused');
      // At most the window under way finishes after the pause.
      await new Promise((r) => setTimeout(r, 500));
      const held = await status();
      assert.ok(held.versionsPublished <= paused.versionsPublished + 1);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(
        (await status()).versionsPublished,
        held.versionsPublished,
        'no window while paused',
      );
      assert.equal(held.model, model);
      assert.equal(held.topic, topic);
      assert.equal(held.version, held.published.at(-1));
      assert.deepEqual(held.offsets, { [topic]: { '0': String(held.versionsPublished * 10) } });
      assert.equal(held.eventsPerSecond, 1000);
      assert.equal(held.ne, 0.79);
      assert.equal(held.lag, 5);

      await handle.signal(resumeSignal);
      const resumed = await waitFor(
        status,
        (s) => s.versionsPublished >= held.versionsPublished + 2,
        'windows after resume',
      );
      assert.equal(resumed.paused, false);

      const target = resumed.published[0] as string;
      const info = await handle.executeUpdate(promoteUpdate, {
        args: [{ model, version: target, reason: 'test' }],
      });
      assert.equal(info.version, target);
      assert.deepEqual(
        world.promoted.filter((p) => p.model === model).map((p) => p.version),
        [target],
      );
      await assert.rejects(
        handle.executeUpdate(promoteUpdate, { args: [{ model, version: 'v999999' }] }),
        (e: unknown) =>
          e instanceof WorkflowUpdateFailedError && /unknown version/.test(String(e.cause)),
      );
      assert.equal(
        world.promoted.filter((p) => p.model === model).length,
        1,
        'rejected before any activity',
      );
    } finally {
      await handle.terminate('test done');
    }
  });

  it('continueAsNew keeps the state across runs', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue,
      workflowId: id('offline'),
      args: [{ model, trainConfig: {} }],
    });
    const topic = `t-${model}`;
    const workflowId = id('can');
    const handle = await client.workflow.start(recurringTraining, {
      taskQueue,
      workflowId,
      args: [
        {
          model,
          fromVersion: offline.version,
          topic,
          eventsPerVersion: 50,
          windowVersions: 2,
          maxVersions: 7,
          windowsPerRun: 2,
          startOffsets: { [topic]: { '0': '1000' } },
        },
      ],
    });
    const firstRunId = handle.firstExecutionRunId;
    const state = await handle.result();
    completed.push(workflowId);
    assert.equal(state.versionsPublished, 7);
    assert.equal(state.published.length, 7);
    assert.equal(state.eventsTrained, 7 * 49);
    assert.deepEqual(state.offsets, { [topic]: { '0': '1350' } });
    // 2+2 versions in run 1, 2+1 in run 2: the last run ran two windows.
    assert.equal(state.iterations, 2);
    const calls = world.windowCalls.filter((c) => c.model === model);
    assert.deepEqual(
      calls.map((c) => c.versions),
      [2, 2, 2, 1],
    );
    // Only the first window starts at the given offsets; later ones (also after
    // continue-as-new) start from their version's own.
    assert.deepEqual(
      calls.map((c) => c.startOffsets),
      [{ [topic]: { '0': '1000' } }, undefined, undefined, undefined],
    );
    const chain = state.published.map((v) => world.versions.get(v)?.parent);
    assert.deepEqual(chain, [offline.version, ...state.published.slice(0, 6)]);
    const last = await client.workflow.getHandle(workflowId).describe();
    assert.notEqual(last.runId, firstRunId, 'the result came from a continued run');
  });

  it('dailyRetraining hands a better candidate to the running recurring workflow at its offsets', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const topic = `t-${model}`;
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue,
      workflowId: id('offline'),
      args: [{ model, trainConfig: {} }],
    });
    const recurring = await client.workflow.start(recurringTraining, {
      taskQueue,
      workflowId: recurringWorkflowId(model),
      args: [{ model, fromVersion: offline.version, topic, eventsPerVersion: 10 }],
    });
    try {
      const status = (): Promise<RecurringStatus> => recurring.query(statusQuery);
      await waitFor(status, (s) => s.versionsPublished >= 2, 'two versions');
      // The next candidate is the next version id; make it better than anything else.
      const dailyId = id('daily');
      const daily = await client.workflow.start(dailyRetraining, {
        taskQueue,
        workflowId: dailyId,
        args: [{ model, trainConfig: {}, topic, tolerance: 0 }],
      });
      const result = await daily.result();
      completed.push(dailyId);
      assert.equal(result.handedOver, true, result.reason);
      assert.match(result.reason, /handed v\d+ over/);
      const after = await waitFor(
        status,
        () =>
          world.windowCalls.some((c) => c.model === model && c.fromVersion === result.candidate),
        'a window from the candidate',
      );
      const call = world.windowCalls.find(
        (c) => c.model === model && c.fromVersion === result.candidate,
      );
      assert.ok(call?.startOffsets, 'the hand-over starts at the recurring offsets');
      assert.ok(Number(call.startOffsets[topic]?.['0']) >= 20);
      assert.equal(after.pendingHandover, null);

      // A worse candidate is kept out, and the reason says so.
      world.candidateNe = 0.9;
      const kept = await client.workflow.execute(dailyRetraining, {
        taskQueue,
        workflowId: id('daily'),
        args: [{ model, trainConfig: {}, topic, tolerance: 0.01 }],
      });
      assert.equal(kept.handedOver, false);
      assert.match(kept.reason, /is worse/);
      world.candidateNe = undefined;
    } finally {
      await recurring.terminate('test done');
    }
  });

  it('a Schedule starts dailyRetraining, which starts the recurring workflow when none runs', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const topic = `t-${model}`;
    const scheduleId = await upsertDailySchedule(client, {
      model,
      taskQueue,
      every: '12h',
      input: { model, topic, trainConfig: {}, recurring: { eventsPerVersion: 7 } },
    });
    const schedule = client.schedule.getHandle(scheduleId);
    try {
      // Updating keeps one schedule and replaces its spec.
      await upsertDailySchedule(client, {
        model,
        taskQueue,
        cron: '0 3 * * *',
        input: { model, topic, trainConfig: {}, recurring: { eventsPerVersion: 7 } },
      });
      const described = await schedule.describe();
      assert.equal(described.spec.intervals?.length ?? 0, 0);
      assert.equal(described.action.workflowType, 'dailyRetraining');
      await schedule.trigger();
      const daily = await waitFor(
        async () => (await schedule.describe()).info.recentActions,
        (actions) => actions.length > 0,
        'a scheduled run',
      );
      const started = daily[0]?.action.workflow;
      assert.ok(started);
      const result = await client.workflow
        .getHandle(started.workflowId, started.firstExecutionRunId)
        .result();
      assert.equal(result.handedOver, true);
      assert.equal(result.current, null);
      const recurring = client.workflow.getHandle(recurringWorkflowId(model));
      const status = await waitFor(
        () => recurring.query(statusQuery),
        (s) => s.versionsPublished >= 1,
        'the started recurring workflow',
      );
      assert.equal(status.published.length >= 1, true);
      assert.equal(world.versions.get(status.published[0] as string)?.parent, result.candidate);
      assert.equal(world.windowCalls.find((c) => c.model === model)?.eventsPerVersion, 7);
      await recurring.terminate('test done');
    } finally {
      await schedule.delete();
    }
  });

  it('the publish gate: held versions leave the served version alone, N in a row pause the workflow, promote and discard', async () => {
    const model = `g-${randomUUID().slice(0, 8)}`;
    const topic = `t-${model}`;
    const offline = await client.workflow.execute(offlineTraining, {
      taskQueue,
      workflowId: id('offline'),
      args: [{ model, trainConfig: {} }],
    });
    const workflowId = id('gate');
    // The first window serves one version, then the gate holds the next three in a row.
    const handle = await client.workflow.start(recurringTraining, {
      taskQueue,
      workflowId,
      args: [
        {
          model,
          fromVersion: offline.version,
          topic,
          eventsPerVersion: 100,
          windowVersions: 1,
          maxVersions: 6,
          gate: { maxConsecutiveHolds: 3 },
        },
      ],
    });
    const status = () => handle.query(statusQuery);
    await waitFor(status, (s) => s.versionsPublished >= 1, 'the first version');
    world.holdNext = 3;
    const paused = await waitFor(status, (s) => s.paused, 'the gate to pause the workflow');
    const good = paused.version;
    assert.equal(paused.activity, 'paused');
    assert.ok(
      !paused.held.some((h) => h.version === good),
      'the served version stays at the good one',
    );
    assert.equal(paused.held.length, 3);
    assert.equal(paused.consecutiveHolds, 3);
    assert.match(paused.pausedReason ?? '', /3 consecutive versions held.*latest stays at v\d+/);
    // Every window after a hold trained from the good version again, expecting the held head.
    const callsAtPause = world.windowCalls.filter((c) => c.model === model).length;
    const calls = world.windowCalls.filter((c) => c.model === model).slice(-3);
    assert.deepEqual(
      calls.map((c) => c.fromVersion),
      [good, good, good],
    );
    assert.deepEqual(
      calls.slice(1).map((c) => c.head),
      paused.held.slice(0, 2).map((h) => h.version),
      'each window expects the newest held version as the lineage head',
    );
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(AgpVersion), good);
    assert.equal(description.typedSearchAttributes.get(AgpGate), 'paused');
    const memo = description.memo ?? {};
    assert.match(String(memo['pausedReason']), /publish gate/);
    assert.match(String(memo['held']), new RegExp(paused.held[0]?.version ?? 'none'));

    // Discard one (validated: only held versions), promote the newest: it becomes the version.
    const [h1, , h3] = paused.held;
    assert.ok(h1 && h3);
    await assert.rejects(
      handle.executeUpdate(discardUpdate, { args: [{ model, version: good }] }),
      WorkflowUpdateFailedError,
    );
    await handle.executeUpdate(discardUpdate, { args: [{ model, version: h1.version }] });
    await handle.executeUpdate(promoteUpdate, { args: [{ model, version: h3.version }] });
    assert.deepEqual(world.discarded.slice(-1), [h1.version]);
    const promoted = await status();
    assert.equal(promoted.version, h3.version);
    assert.deepEqual(
      promoted.held.map((h) => h.version),
      [paused.held[1]?.version],
    );
    await handle.signal(resumeSignal);
    const done = await handle.result();
    assert.equal(done.pausedReason, null);
    const resumed = world.windowCalls.filter((c) => c.model === model)[callsAtPause];
    assert.equal(resumed?.fromVersion, h3.version, 'training continues from the promoted version');
    completed.push(workflowId);
  });

  it('replays the recorded histories deterministically', async () => {
    assert.ok(completed.length >= 4);
    for (const workflowId of completed) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory(
        { workflowBundle: bundle, replayName: workflowId },
        history,
        workflowId,
      );
    }
  });
});

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (message: string) => process.stderr.write(`${message}\n`),
};
