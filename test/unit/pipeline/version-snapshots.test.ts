import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { ClickEvent } from '../../../schemas/click-event';
import { FeatureSpec } from '../../../schemas/feature-spec';
import type { Manifest } from '../../../schemas/manifest';
import type { TrainConfig } from '../../../schemas/train-config';
import type { TrainReport } from '../../../schemas/train-report';
import { initBackend } from '../../../src/model/backend';
import { saveCheckpoint } from '../../../src/model/checkpoint';
import { createTrainer, type Trainer } from '../../../src/model/trainer';
import { createGateScorer } from '../../../src/pipeline/gate-scoring';
import { loadTrainerFromVersion, towerWidths } from '../../../src/pipeline/model-version';
import { judgeVersion } from '../../../src/pipeline/publish-gate';
import { publishOfflineModel } from '../../../src/pipeline/publish-offline';
import { VersionSnapshots } from '../../../src/pipeline/version-snapshots';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { eventsToBatch } from '../../../src/stream/event-codec';
import type { HeldBackEntry } from '../../../src/stream/held-back-slice';
import { createRng } from '../../../src/rng';
import { randomBatch, tinyConfig } from '../model/helpers';

const spec = FeatureSpec.parse({
  dense: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
  sparse: [
    { name: 'x', buckets: 10 },
    { name: 'y', buckets: 7 },
    { name: 'z', buckets: 5 },
  ],
});

const report = {
  dataset: 'tiny test rows',
  rowsTrained: 64,
  backend: 'cpu',
  samplesPerSecond: 100,
  flopSaving: 0.4,
  wallSeconds: 1,
  test: { logloss: 0.5, ne: 0.9, auc: 0.7, calibration: Number.NaN, rows: 32 },
} as unknown as TrainReport;

/** A held-back slice of `n` events (more than the gate's minimum of 100). */
function slice(n: number, seed: number): HeldBackEntry[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const event: ClickEvent = {
      v: 1,
      eventId: `h${i}`,
      eventTime: 1_700_000_000_000 + i,
      label: rng.next() < 0.3 ? 1 : 0,
      dense: { a: rng.normal(), b: rng.normal(), c: rng.normal() },
      sparse: { x: rng.int(10), y: `y${rng.int(20)}`, z: rng.int(5) },
    };
    return { topic: 't', partition: 0, offset: i * 50, event };
  });
}

describe('version snapshots (the gate parent in memory)', () => {
  let dir: string;
  let registry: FsRegistryStore;
  let trainer: Trainer;
  let parent: Manifest;

  before(async () => {
    await initBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'agp-snapshots-unit-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
    const config = tinyConfig({ embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.05 } });
    trainer = createTrainer(config);
    for (let s = 0; s < 5; s++) trainer.step(randomBatch(config, 8, 10 + s));
    const checkpointDir = join(dir, 'ckpt');
    await saveCheckpoint(checkpointDir, trainer, {});
    parent = await publishOfflineModel(registry, {
      model: 'snap',
      config: { name: 'snap' } as TrainConfig,
      spec,
      report,
      checkpointDir,
      widths: towerWidths(trainer),
    });
  });
  after(async () => {
    trainer.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('scores the held-back slice exactly as the parent loaded from the registry does', async () => {
    const snapshots = new VersionSnapshots();
    assert.equal(snapshots.take(parent.version, trainer), true);
    // The candidate trains on: its embedding rows and weights move, the copy's must not.
    for (let s = 0; s < 5; s++) trainer.step(randomBatch(trainer.config, 8, 40 + s));
    const entries = slice(300, 3);
    const batch = eventsToBatch(
      entries.map((e) => e.event),
      spec,
    );
    const loaded = await loadTrainerFromVersion(registry, 'snap', parent.version);
    try {
      const kept = snapshots.get(parent.version);
      assert.ok(kept !== undefined);
      assert.deepEqual(kept.predict(batch), loaded.trainer.predict(batch), 'bit for bit');
      assert.notDeepEqual(trainer.predict(batch), loaded.trainer.predict(batch), 'it trained on');
    } finally {
      loaded.trainer.dispose();
    }

    const test = { heldBackNe: 0.005, falseAlarmRate: 0.01 };
    const inMemory = createGateScorer({
      registry,
      model: 'snap',
      spec,
      anchor: null,
      test,
      snapshots,
    });
    const reloaded = createGateScorer({ registry, model: 'snap', spec, anchor: null, test });
    const a = await inMemory.score(trainer, parent, entries);
    const b = await reloaded.score(trainer, parent, entries);
    inMemory.dispose();
    reloaded.dispose();
    assert.equal(a.slices.length, 1);
    assert.equal(b.slices.length, 1);
    const [sa, sb] = [a.slices[0], b.slices[0]];
    assert.ok(sa !== undefined && sb !== undefined);
    for (const key of Object.keys(sb) as (keyof typeof sb)[]) {
      const x: unknown = sa[key];
      const y: unknown = sb[key];
      if (typeof x === 'number' && typeof y === 'number') {
        assert.ok(Math.abs(x - y) <= 1e-9, `${key}: ${x} vs ${y}`);
      } else assert.deepEqual(x, y, key);
    }
    const tolerances = { ne: 0.01, calibration: 0.1, ...test };
    assert.deepEqual(
      judgeVersion({}, null, tolerances, a.slices),
      judgeVersion({}, null, tolerances, b.slices),
    );
    assert.deepEqual(a.fellBehind, b.fellBehind);
    snapshots.dispose();
  });

  it('keeps at most `limit` copies and one spare, recycling the oldest, without leaking tensors', () => {
    const snapshots = new VersionSnapshots(2);
    // Two versions and a spare: the steady state of a window publishing in the background.
    for (const v of ['v1', 'v2', 'v3']) snapshots.take(v, trainer);
    const tensors = tf.memory().numTensors;
    for (let v = 4; v < 9; v++) {
      trainer.step(randomBatch(trainer.config, 8, v));
      snapshots.take(`v${v}`, trainer);
    }
    assert.equal(tf.memory().numTensors, tensors, 'recycled copies reuse their places');
    assert.deepEqual(snapshots.versions(), ['v7', 'v8']);
    const batch = randomBatch(trainer.config, 8, 99);
    assert.deepEqual(snapshots.get('v8')?.predict(batch), trainer.predict(batch));
    // A held version's copy goes back as the spare and is what the next capture reuses.
    const copy = snapshots.capture(trainer);
    assert.ok(copy !== undefined);
    snapshots.release(copy);
    assert.equal(snapshots.capture(trainer), copy);
    snapshots.release(copy);
    assert.equal(tf.memory().numTensors, tensors);
    snapshots.retain(['v8']);
    assert.deepEqual(snapshots.versions(), ['v8']);
    snapshots.dispose();
    assert.deepEqual(snapshots.versions(), []);
    const tooBig = new VersionSnapshots(2, 16);
    assert.equal(tooBig.take('v1', trainer), false, 'a model past maxBytes is not copied');
    assert.equal(tooBig.get('v1'), undefined);
  });
});
