import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { ClickEvent } from '../../../schemas/click-event';
import { FeatureSpec } from '../../../schemas/feature-spec';
import type { TrainConfig } from '../../../schemas/train-config';
import type { TrainReport } from '../../../schemas/train-report';
import { run as runRegistryCli } from '../../../src/cli/registry';
import { saveCheckpoint } from '../../../src/model/checkpoint';
import { clickModelLoader } from '../../../src/pipeline/click-predictor';
import { featureSpecOfManifest } from '../../../src/pipeline/feature-spec-of';
import { publishOfflineModel } from '../../../src/pipeline/publish-offline';
import { loadVersion, openFsRegistry } from '../../../src/registry';
import { modelConfigForFeatures } from '../../../schemas/model-config';
import { hashCategorical } from '../../../src/data/hashing';
import { encodeRawBatch, type RawBatch } from '../../../src/data/raw-batch';
import { ConfigError } from '../../../src/errors';
import { checkExportable, hashColumns, SIGNATURE } from '../../../src/export/inference-graph';
import { inferenceWeights, savedModelOf, SERVE_TAG } from '../../../src/export/savedmodel';
import {
  DT_INT64,
  DT_STRING,
  GraphBuilder,
  savedModelBytes,
} from '../../../src/model/tf-graph/graph-builder';
import { GRAPH_PRODUCER } from '../../../src/model/tf-graph/graph-session';
import { createTrainer } from '../../../src/model/trainer';
import { onlyOutput, savedModelLoader, type LoadSavedModel } from '../../tf-saved-model';

/**
 * The SavedModel export (issue 14 item 4), loaded back with TensorFlow's own loader
 * (tf.node.loadSavedModel on the tensorflow backend): its hash equals hashCategorical cell by
 * cell, its predictions equal the registry predictor's on the same rows within 1e-5.
 */

let loadSavedModel: LoadSavedModel | null = null;
let root: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'agp-savedmodel-'));
  loadSavedModel = await savedModelLoader();
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function load(name: string, pb: Uint8Array) {
  const dir = path.join(root, name);
  await rm(dir, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
  await writeFile(path.join(dir, 'saved_model.pb'), pb);
  return (loadSavedModel as LoadSavedModel)(dir, [SERVE_TAG], SIGNATURE.key);
}

const SPEC = FeatureSpec.parse({
  dense: [
    { name: 'count', transform: 'log1p', clip: [0, 3] },
    { name: 'score', transform: 'none' },
    { name: 'raw', transform: 'log1p' },
  ],
  sparse: [
    { name: 'site', buckets: 50 },
    { name: 'device', buckets: 7 },
    { name: 'single', buckets: 1 },
  ],
});

/** Values that exercise the hash: empty, digits, signs, multi-byte UTF-8, long values. */
const CATEGORICALS = [
  '',
  '0',
  '123',
  '-5',
  '68fd1e64',
  'héllo',
  '日本語',
  '😀 emoji',
  'a'.repeat(64),
  'b'.repeat(65),
  `${'long-'.repeat(200)}end`,
  '9007199254740993123456789',
  `${'é'.repeat(31)}x`,
  ' ',
  'MixedCase_42',
];

function rawRows(n: number): { raw: RawBatch; dense: number[]; sparse: string[] } {
  const dense: number[] = [];
  const sparse: string[] = [];
  const denseValues = [0, 1, 2.5, -3, 50, 1e6, NaN, Infinity, -Infinity, 0.001, 7, 1e4];
  const cols: { d: number[][]; s: string[][] } = {
    d: SPEC.dense.map(() => []),
    s: SPEC.sparse.map(() => []),
  };
  for (let r = 0; r < n; r++) {
    SPEC.dense.forEach((_, f) => {
      const v = denseValues[(r * 5 + f * 3) % denseValues.length] as number;
      dense.push(v);
      cols.d[f]?.push(v);
    });
    SPEC.sparse.forEach((_, f) => {
      const v = CATEGORICALS[(r * 7 + f * 5) % CATEGORICALS.length] as string;
      sparse.push(v);
      cols.s[f]?.push(v);
    });
  }
  return {
    raw: { size: n, labels: new Float32Array(n), dense: cols.d, sparse: cols.s },
    dense,
    sparse,
  };
}

void describe('SavedModel export', () => {
  void it('hashes every categorical value into the row hashCategorical gives', async (t) => {
    if (loadSavedModel === null) return t.skip('@tensorflow/tfjs-node is not installed');
    const g = new GraphBuilder();
    const input = g.placeholder('sparse', [-1, SPEC.sparse.length], DT_STRING);
    const rows = hashColumns(g, input, SPEC);
    const pb = savedModelBytes(g.graphDef(GRAPH_PRODUCER), [SERVE_TAG], {
      [SIGNATURE.key]: {
        inputs: { sparse: { tensor: `${input}:0`, dtype: DT_STRING, dims: [-1, 3] } },
        outputs: { rows: { tensor: `${rows}:0`, dtype: DT_INT64, dims: [-1, 3] } },
        methodName: 'tensorflow/serving/predict',
      },
    });
    const model = await load('hash', pb);
    const { sparse } = rawRows(CATEGORICALS.length * 2);
    const n = sparse.length / SPEC.sparse.length;
    const out = onlyOutput(model.predict({ sparse: tf.tensor2d(sparse, [n, 3], 'string') }));
    const got = Array.from(await out.data(), Number);
    const want = sparse.map((v, i) =>
      hashCategorical(v, i % 3, (SPEC.sparse[i % 3] as { buckets: number }).buckets),
    );
    assert.deepEqual(got, want);
    out.dispose();
    model.dispose();
  });

  void it("predicts what the registry's predictor predicts on the same rows (≤ 1e-5)", async (t) => {
    if (loadSavedModel === null) return t.skip('@tensorflow/tfjs-node is not installed');
    const config = modelConfigForFeatures(SPEC, {
      bottom: [16, 8],
      top: [16, 1],
      embeddingDim: 8,
      seed: 3,
    });
    const trainer = createTrainer(config);
    const { raw, dense, sparse } = rawRows(40);
    // Train a few steps so the weights are not the initialisation's symmetric ones.
    const batch = encodeRawBatch(
      { ...raw, labels: Float32Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0)) },
      SPEC,
    );
    for (let i = 0; i < 20; i++) trainer.step(batch);
    const want = trainer.predict(encodeRawBatch(raw, SPEC));
    const model = await load('full', savedModelOf(SPEC, inferenceWeights(trainer)));
    const out = onlyOutput(
      model.predict({
        [SIGNATURE.dense]: tf.tensor2d(dense, [40, 3]),
        [SIGNATURE.sparse]: tf.tensor2d(sparse, [40, 3], 'string'),
      }),
    );
    assert.deepEqual(out.shape, [40]);
    const got = await out.data();
    const worst = Math.max(...Array.from(want, (w, i) => Math.abs(w - (got[i] as number))));
    assert.ok(worst <= 1e-5, `largest difference ${worst}`);
    assert.ok(new Set(Array.from(want, (v) => v.toFixed(4))).size > 3, 'predictions vary by row');

    // A value of any length scores (the graph's hash loop runs to the longest value).
    const long = [...sparse.slice(0, 3)];
    long[0] = 'x'.repeat(3000);
    const longOut = onlyOutput(
      model.predict({
        [SIGNATURE.dense]: tf.tensor2d(dense.slice(0, 3), [1, 3]),
        [SIGNATURE.sparse]: tf.tensor2d(long, [1, 3], 'string'),
      }),
    );
    assert.ok(Number.isFinite((await longOut.data())[0]));
    longOut.dispose();
    out.dispose();
    model.dispose();
    trainer.dispose();
  });

  void it('exports all-dense and all-categorical models', async (t) => {
    if (loadSavedModel === null) return t.skip('@tensorflow/tfjs-node is not installed');
    for (const spec of [
      FeatureSpec.parse({ dense: SPEC.dense, sparse: [] }),
      FeatureSpec.parse({ dense: [], sparse: SPEC.sparse }),
    ]) {
      const trainer = createTrainer(
        modelConfigForFeatures(spec, { top: [8, 1], embeddingDim: 4, bottom: [8, 4], seed: 1 }),
      );
      const { raw, dense, sparse } = rawRows(12);
      const own: RawBatch = {
        size: 12,
        labels: raw.labels,
        dense: spec.dense.length ? raw.dense : [],
        sparse: spec.sparse.length ? raw.sparse : [],
      };
      const want = trainer.predict(encodeRawBatch(own, spec));
      const model = await load(
        `kinds-${spec.dense.length}`,
        savedModelOf(spec, inferenceWeights(trainer)),
      );
      const feeds: Record<string, tf.Tensor> = {};
      if (spec.dense.length) feeds[SIGNATURE.dense] = tf.tensor2d(dense, [12, 3]);
      if (spec.sparse.length) feeds[SIGNATURE.sparse] = tf.tensor2d(sparse, [12, 3], 'string');
      const out = onlyOutput(model.predict(feeds));
      const got = await out.data();
      want.forEach((w, i) => assert.ok(Math.abs(w - (got[i] as number)) <= 1e-5, `row ${i}`));
      out.dispose();
      model.dispose();
      trainer.dispose();
    }
  });

  void it('agp registry export writes <out>/<model>/<n>/ that predicts as the registry predictor does', async (t) => {
    if (loadSavedModel === null) return t.skip('@tensorflow/tfjs-node is not installed');
    const registryRoot = path.join(root, 'registry');
    const registry = await openFsRegistry({ root: registryRoot });
    const trainer = createTrainer(
      modelConfigForFeatures(SPEC, { bottom: [16, 8], top: [16, 1], embeddingDim: 8, seed: 5 }),
    );
    const { raw, dense, sparse } = rawRows(30);
    const labelled = { ...raw, labels: Float32Array.from({ length: 30 }, (_, i) => i % 2) };
    for (let i = 0; i < 10; i++) trainer.step(encodeRawBatch(labelled, SPEC));
    const checkpointDir = path.join(root, 'ckpt');
    await saveCheckpoint(checkpointDir, trainer, {});
    trainer.dispose();
    const published = await publishOfflineModel(registry, {
      model: 'ctr',
      config: { name: 'ctr' } as TrainConfig,
      spec: SPEC,
      report: {
        dataset: 'export test rows',
        rowsTrained: 30,
        backend: 'tensorflow',
        samplesPerSecond: 100,
        flopSaving: 0,
        wallSeconds: 1,
        test: { logloss: 0.6, ne: 0.9, auc: 0.6, calibration: 1, rows: 30 },
      } as unknown as TrainReport,
      checkpointDir,
      // The version's spec clips to these ranges (learned offline), and the export must too.
      denseRanges: { min: [0, -1, 0], max: [2, 1, 3], rows: 30 },
    });
    const outDir = path.join(root, 'export');
    let printed = '';
    const code = await runRegistryCli(
      ['export', 'ctr', '--format', 'savedmodel', '--out', outDir, '--root', registryRoot],
      { out: (s) => (printed += s), err: (s) => (printed += s) },
    );
    assert.equal(code, 0, printed);
    assert.match(printed, /ctr v000001: SavedModel written to .*ctr\/1 /);

    const events: ClickEvent[] = Array.from({ length: 30 }, (_, r) => ({
      v: 1,
      eventId: `e${r}`,
      eventTime: Date.now(),
      label: 0,
      dense: Object.fromEntries(SPEC.dense.map((f, i) => [f.name, dense[r * 3 + i] as number])),
      sparse: Object.fromEntries(SPEC.sparse.map((f, i) => [f.name, sparse[r * 3 + i] as string])),
    }));
    const predictor = await loadVersion(registry, 'ctr', 'latest', clickModelLoader);
    const want = predictor.predict(events);
    predictor.dispose();
    const model = await (loadSavedModel as LoadSavedModel)(
      path.join(outDir, 'ctr', '1'),
      [SERVE_TAG],
      SIGNATURE.key,
    );
    const out = onlyOutput(
      model.predict({
        [SIGNATURE.dense]: tf.tensor2d(dense, [30, 3]),
        [SIGNATURE.sparse]: tf.tensor2d(sparse, [30, 3], 'string'),
      }),
    );
    const got = await out.data();
    const worst = Math.max(...Array.from(want, (w, i) => Math.abs(w - (got[i] as number))));
    assert.ok(worst <= 1e-5, `largest difference ${worst}`);
    assert.ok(featureSpecOfManifest(published).dense[0]?.clip !== undefined, 'the spec clips');
    out.dispose();
    model.dispose();

    await assert.rejects(
      runRegistryCli(['export', 'ctr', '--out', outDir, '--root', registryRoot], {
        out: () => undefined,
        err: () => undefined,
      }),
      /--format is missing/,
    );
  });

  void it('refuses derived and crossed features with a message naming the feature', () => {
    const spec = FeatureSpec.parse({
      dense: [],
      sparse: [{ name: 'hour', from: 'ts', buckets: 24, derive: { kind: 'hourOfDay' } }],
    });
    assert.throws(
      () => checkExportable(spec),
      (e: unknown) =>
        e instanceof ConfigError && /feature 'hour' is derived \(hourOfDay\)/.test(e.message),
    );
  });
});
