import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FeatureSpec } from '../../../schemas/feature-spec';
import type { TrainConfig } from '../../../schemas/train-config';
import type { TrainReport } from '../../../schemas/train-report';
import { initBackend } from '../../../src/model/backend';
import { saveCheckpoint } from '../../../src/model/checkpoint';
import { createTrainer } from '../../../src/model/trainer';
import { clickModelLoader } from '../../../src/pipeline/click-predictor';
import { featureSpecOfManifest } from '../../../src/pipeline/feature-spec-of';
import {
  formatWidths,
  loadTrainerFromVersion,
  towerWidths,
} from '../../../src/pipeline/model-version';
import { finiteMetrics, publishOfflineModel } from '../../../src/pipeline/publish-offline';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { servingVersion } from '../../../src/pipeline/version-info';
import { loadVersion, openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { createEventDecoder, encodeEvent, eventsToBatch } from '../../../src/stream/event-codec';
import { assertClose, randomBatch, tinyConfig } from '../model/helpers';

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

describe('pipeline pieces', () => {
  let dir: string;
  let registry: FsRegistryStore;

  before(async () => {
    await initBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'agp-pipeline-unit-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('publishes an offline checkpoint and loads it back predicting the same', async () => {
    const config = tinyConfig();
    const trainer = createTrainer(config);
    const batch = randomBatch(config, 8, 3);
    trainer.step(batch);
    const before = trainer.predict(batch);
    const checkpointDir = join(dir, 'ckpt');
    await saveCheckpoint(checkpointDir, trainer, {});
    const manifest = await publishOfflineModel(registry, {
      model: 'tiny',
      config: { name: 'tiny' } as TrainConfig,
      spec,
      report,
      checkpointDir,
      widths: towerWidths(trainer),
    });
    trainer.dispose();
    assert.equal(manifest.phase, 'offline');
    assert.equal(manifest.parent, null);
    assert.deepEqual(manifest.widths, { bottom: [8, 6, 4], top: [8, 5, 1] });
    assert.equal(manifest.metrics['ne'], 0.9);
    assert.ok(!('calibration' in manifest.metrics), 'NaN metrics are left out');

    const loaded = await loadTrainerFromVersion(registry, 'tiny', manifest.version);
    try {
      assert.deepEqual(loaded.spec, spec);
      assertClose(loaded.trainer.predict(batch), before, 1e-6);
    } finally {
      loaded.trainer.dispose();
    }
  });

  it("publishes the dense ranges learned offline as the version spec's clips", async () => {
    const config = tinyConfig();
    const trainer = createTrainer(config);
    const checkpointDir = join(dir, 'ckpt-ranges');
    await saveCheckpoint(checkpointDir, trainer, {});
    trainer.dispose();
    const manifest = await publishOfflineModel(registry, {
      model: 'ranges',
      config: { name: 'ranges' } as TrainConfig,
      spec,
      report,
      checkpointDir,
      denseRanges: { min: [0, -2, 0], max: [10, 2, 0], rows: 64 },
    });
    const published = featureSpecOfManifest(manifest);
    assert.deepEqual(
      published.dense.map((f) => f.clip),
      [
        [-1, 11],
        [-2.4, 2.4],
        [0, 0],
      ],
    );
    const loaded = await loadTrainerFromVersion(registry, 'ranges', manifest.version);
    loaded.trainer.dispose();
    const poison = {
      v: 1 as const,
      eventId: 'p',
      eventTime: 1,
      label: 1 as const,
      dense: { a: 1e308, b: 1e308, c: 5 },
      sparse: { x: 'u', y: 1, z: 2 },
    };
    assert.deepEqual([...eventsToBatch([poison], loaded.spec).dense], [11, Math.fround(2.4), 0]);
  });

  it('serving code loads a version as a predictor of click events (registry load + clickModelLoader)', async () => {
    const config = tinyConfig();
    const trainer = createTrainer(config);
    trainer.step(randomBatch(config, 8, 5));
    const checkpointDir = join(dir, 'ckpt-serving');
    await saveCheckpoint(checkpointDir, trainer, {});
    const manifest = await publishOfflineModel(registry, {
      model: 'served',
      config: { name: 'served' } as TrainConfig,
      spec,
      report,
      checkpointDir,
      widths: towerWidths(trainer),
    });
    const events = [
      {
        v: 1 as const,
        eventId: 'a',
        eventTime: 1,
        label: 1 as const,
        dense: { a: 3, b: null, c: 0.5 },
        sparse: { x: 'u1', y: 4, z: null },
      },
      {
        v: 1 as const,
        eventId: 'b',
        eventTime: 2,
        label: 0 as const,
        dense: { a: 0, b: 2, c: 9 },
        sparse: { x: 'never-seen', y: 'q', z: 'r' },
      },
    ];
    const expected = trainer.predict(eventsToBatch(events, spec));
    trainer.dispose();
    const predictor = await loadVersion(registry, 'served', 'latest', clickModelLoader);
    try {
      assert.equal(predictor.version, manifest.version);
      const p = predictor.predict(events);
      assert.equal(p.length, 2);
      assert.ok(p.every((v) => v > 0 && v < 1));
      assertClose(p, expected, 1e-6);
      assert.equal(predictor.predict([]).length, 0);
    } finally {
      predictor.dispose();
    }
  });

  it('the serving version is the newest recurring one, not a newer offline candidate', async () => {
    const files = [{ path: 'w.bin', data: 'x' }];
    const base = { configHash: 'h', metrics: {}, config: { train: {}, features: spec } };
    const offline = await registry.publish(
      'serve',
      { files },
      {
        ...base,
        parent: null,
        phase: 'offline',
        dataRange: { kind: 'offline', source: 's', rows: 1 },
      },
    );
    assert.equal((await servingVersion(registry, 'serve'))?.version, offline.version);
    const recurring = await registry.publish(
      'serve',
      { files },
      {
        ...base,
        parent: offline.version,
        phase: 'recurring',
        dataRange: {
          kind: 'recurring',
          fromOffsets: { t: { '0': 0 } },
          toOffsets: { t: { '0': 40 } },
          eventTime: null,
        },
      },
    );
    await registry.publish(
      'serve',
      { files },
      {
        ...base,
        parent: null,
        phase: 'offline',
        dataRange: { kind: 'offline', source: 's', rows: 1 },
      },
    );
    const serving = await servingVersion(registry, 'serve');
    assert.equal(serving?.version, recurring.version);
    assert.deepEqual(serving?.offsets, { t: { '0': '40' } });
    assert.equal(await servingVersion(registry, 'nothing-here'), null);
  });

  it('a manifest without a feature spec is refused with a message naming the version', async () => {
    const m = await registry.publish(
      'nospec',
      { files: [{ path: 'a', data: 'b' }] },
      {
        parent: null,
        phase: 'offline',
        configHash: 'h',
        dataRange: { kind: 'offline', source: 's', rows: 1 },
        metrics: {},
      },
    );
    assert.throws(
      () => featureSpecOfManifest(m),
      /nospec v\d+: manifest config\.features is missing/,
    );
  });

  it('synthetic event rows are valid click events of the synthetic spec', () => {
    const { spec: synthetic, rows } = syntheticEventRows({ preset: 'capacity-bound', rows: 50 });
    const decode = createEventDecoder(synthetic);
    let n = 0;
    let missing = 0;
    for (const row of rows) {
      const decoded = decode(encodeEvent({ v: 1, eventId: `e${n}`, eventTime: n, ...row }));
      assert.ok('ok' in decoded, JSON.stringify(decoded));
      missing += Object.values(row.dense).filter((v) => v === null).length;
      n++;
    }
    assert.equal(n, 50);
    assert.ok(missing > 0, 'missing dense values travel as null');
  });

  it('formats widths and drops non-finite metrics', () => {
    assert.equal(formatWidths({ bottom: [8, 4], top: [8, 1] }), '8-4 | 8-1');
    assert.deepEqual(finiteMetrics({ a: 1, b: Number.NaN, c: Infinity, d: 0 }), { a: 1, d: 0 });
  });
});
