// The deployed worker trains on the tfjs backend the rest of the product selects (issue 12
// item 3): `npm run worker` initialises it and says which, and a recurring version records the
// backend that trained it, not its parent's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { ModelVersion } from '../../../schemas/manifest';
import { activeBackend, initBackend } from '../../../src/model/backend';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { runRecurringWindow } from '../../../src/pipeline/recurring-window';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { replay } from '../../../src/stream/replay';
import { createTopics, deleteTopics, kafka, producer, uniqueTopic } from './kafka-helpers';

const REPO = path.resolve(import.meta.dirname, '../../..');
const binding = path.join(REPO, 'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node');
const skip = fs.existsSync(binding)
  ? false
  : `the tensorflow backend is not provisioned (${binding} missing): run npm run setup:tensorflow`;

describe('the worker selects the tensorflow backend', { skip }, () => {
  let dir: string;
  let registry: FsRegistryStore;
  let k: Kafka;
  let p: Producer;
  const topic = uniqueTopic('backend');

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'agp-backend-test-'));
    registry = await openFsRegistry({ root: path.join(dir, 'registry') });
    k = kafka();
    await createTopics(k, topic, `${topic}.dlq`);
    p = await producer(k);
  });

  after(async () => {
    await p.disconnect();
    await deleteTopics(k, topic, `${topic}.dlq`);
    await rm(dir, { recursive: true, force: true });
  });

  it('`npm run worker` (worker/main.ts) initialises tensorflow and says so', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AGP_DATA_DIR: dir,
      AGP_TASK_QUEUE: `backend-${randomUUID()}`,
    };
    delete env['AGP_BACKEND'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker not polling:\n${out}`)), 150_000);
        child.stdout.on('data', () => {
          if (out.includes('worker: polling')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then(() => reject(new Error(`worker exited:\n${out}`)));
      });
      assert.match(out, /worker: polling .*tfjs backend 'tensorflow'/);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });

  it('a recurring version records the backend it trained on, not its parent’s', async () => {
    const model = `backend-${randomUUID().slice(0, 8)}`;
    // The parent is trained on cpu (as by a worker on a machine without TensorFlow)…
    process.env['AGP_BACKEND'] = 'cpu';
    let parent;
    try {
      parent = await runOfflinePhase(
        registry,
        model,
        {
          name: model,
          data: {
            train: {
              kind: 'synthetic',
              preset: 'capacity-bound',
              seed: 1,
              split: 'train',
              rows: 256,
            },
            test: {
              kind: 'synthetic',
              preset: 'capacity-bound',
              seed: 1,
              split: 'test',
              rows: 256,
            },
          },
          model: { embeddingDim: 4, bottom: [8, 4], top: [8, 1], batchSize: 64 },
          evalPoints: 0,
          evalRows: 256,
        },
        { outDir: path.join(dir, 'offline') },
      );
    } finally {
      delete process.env['AGP_BACKEND'];
    }
    assert.equal(parent.manifest.backend, 'cpu');
    // …and its child on tensorflow, as a worker that initialised it.
    assert.equal(await initBackend(), 'tensorflow');
    const { rows } = syntheticEventRows({
      preset: 'capacity-bound',
      seed: 2,
      teacherSeed: 1,
      split: 'train',
      rows: 300,
    });
    await replay(rows, { producer: p, topic });
    const outcome = await runRecurringWindow(
      { kafka: k, registry },
      {
        model,
        fromVersion: parent.manifest.version,
        topic,
        groupId: `backend-${randomUUID()}`,
        eventsPerVersion: 300,
        versions: 1,
      },
    );
    const child = await registry.get(model, ModelVersion.parse(outcome.lastVersion));
    assert.equal(child.parent, parent.manifest.version);
    assert.equal(activeBackend(), 'tensorflow');
    assert.equal(child.backend, 'tensorflow');
  });
});
