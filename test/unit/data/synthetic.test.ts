import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ColumnarBatch } from '../../../src/data/batch';
import { openSource } from '../../../src/data/open-source';
import { resolveSyntheticConfig, syntheticFeatureSpec } from '../../../src/data/synthetic/presets';
import { createSyntheticSource } from '../../../src/data/synthetic/source';
import { ZipfSampler } from '../../../src/data/synthetic/zipf';
import { createRng } from '../../../src/rng';
import { ConfigError } from '../../../src/errors';

// A small teacher keeps these tests fast; the presets are checked once below.
const small = { teacherHidden: [64, 32], rows: 5000 };

async function all(
  src: { batches(o: { batchSize: number; startRow?: number }): AsyncIterable<ColumnarBatch> },
  batchSize: number,
  startRow = 0,
) {
  const dense: number[] = [];
  const sparse: number[] = [];
  const labels: number[] = [];
  for await (const b of src.batches({ batchSize, startRow })) {
    dense.push(...b.dense);
    sparse.push(...b.sparse);
    labels.push(...b.labels);
  }
  return { dense, sparse, labels };
}

describe('synthetic generator', () => {
  it('is deterministic by seed and independent of the batch size', async () => {
    const a = await all(createSyntheticSource({ ...small, seed: 5 }), 128);
    const b = await all(createSyntheticSource({ ...small, seed: 5 }), 1000);
    assert.deepEqual(a, b);
    const c = await all(createSyntheticSource({ ...small, seed: 6 }), 128);
    assert.notDeepEqual(a.labels, c.labels);
    assert.equal(a.labels.length, 5000);
  });

  it('resumes at startRow with exactly the rows an uninterrupted pass yields', async () => {
    const full = await all(createSyntheticSource(small), 256);
    const rest = await all(createSyntheticSource(small), 256, 3001);
    assert.equal(rest.labels.length, 1999);
    assert.deepEqual(rest.sparse, full.sparse.slice(3001 * 26));
    assert.deepEqual(rest.dense, full.dense.slice(3001 * 13));
  });

  it('draws train and test from one teacher with different rows', async () => {
    const train = createSyntheticSource({ ...small, split: 'train' });
    const test = createSyntheticSource({ ...small, split: 'test' });
    const a = await all(train, 500);
    const b = await all(test, 500);
    assert.notDeepEqual(a.sparse.slice(0, 260), b.sparse.slice(0, 260));
    // Same teacher: Bayes quality is alike on both splits.
    assert.ok(Math.abs(train.bayes().auc - test.bayes().auc) < 0.03);
  });

  it('emits hashed categoricals in range, missing dense values as 0, heavy tails', async () => {
    const src = createSyntheticSource(small);
    const { dense, sparse } = await all(src, 1000);
    src.spec.sparse.forEach((f, j) => {
      for (let r = 0; r < 5000; r++)
        assert.ok(sparse[r * 26 + j]! >= 1 && sparse[r * 26 + j]! < f.buckets);
    });
    const zeros = dense.filter((x) => x === 0).length / dense.length;
    assert.ok(zeros > 0.05 && zeros < 0.5, `zero fraction ${zeros}`);
    assert.ok(Math.max(...dense) > 5, 'log1p of heavy-tailed counts reaches beyond e^5');
  });

  it('countLogScale shrinks the dense counts; 1 leaves the rows unchanged', async () => {
    const base = await all(createSyntheticSource(small), 1000);
    const one = await all(createSyntheticSource({ ...small, countLogScale: 1 }), 1000);
    assert.deepEqual(one, base);
    const shrunk = await all(createSyntheticSource({ ...small, countLogScale: 0.3 }), 1000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(
      mean(shrunk.dense) < 0.5 * mean(base.dense),
      `${mean(shrunk.dense)} vs ${mean(base.dense)}`,
    );
    assert.ok(Math.max(...shrunk.dense) < Math.max(...base.dense));
    assert.throws(() => resolveSyntheticConfig({ rows: 10, countLogScale: 0 }), /countLogScale/);
  });

  it('reports true probabilities consistent with the labels', () => {
    const src = createSyntheticSource(small);
    const p = src.trueProbabilities();
    assert.equal(p.length, 5000);
    const part = src.trueProbabilities({ startRow: 2000, rows: 100 });
    assert.deepEqual(Array.from(part), Array.from(p.subarray(2000, 2100)));
    const bayes = src.bayes();
    assert.ok(Math.abs(bayes.calibration - 1) < 0.05, `calibration ${bayes.calibration}`);
    assert.ok(bayes.ne < 1);
  });

  for (const preset of ['capacity-bound', 'capacity-bound-v2', 'criteo-like'] as const) {
    it(`${preset}: base rate 25–30%, Bayes AUC > 0.7`, () => {
      const src = createSyntheticSource({ preset, rows: 10_000, split: 'test' });
      const m = src.bayes();
      assert.ok(m.baseRate >= 0.25 && m.baseRate <= 0.3, `base rate ${m.baseRate}`);
      assert.ok(m.auc > 0.7, `Bayes AUC ${m.auc}`);
      assert.ok(m.ne > 0.4 && m.ne < 0.9, `Bayes NE ${m.ne}`);
    });
  }

  it('resolves presets and overrides; rejects bad knobs naming the field', () => {
    const cfg = resolveSyntheticConfig({ preset: 'criteo-like', rows: 10, zipfExponent: 1.3 });
    assert.equal(cfg.zipfExponent, 1.3);
    assert.equal(cfg.cardinalities.length, 26);
    assert.equal(cfg.cardinalities[0], 10);
    assert.equal(cfg.cardinalities[25], 100_000);
    assert.equal(syntheticFeatureSpec(cfg).sparse[25]!.buckets, 200_001);
    assert.throws(
      () => resolveSyntheticConfig({ rows: 10, denseShare: 2 }),
      (e: unknown) => e instanceof ConfigError && /denseShare/.test(e.message),
    );
    assert.throws(
      () => resolveSyntheticConfig({ rows: 10, cardinalities: [5, 5] }),
      /cardinalities: needs 26 entries/,
    );
  });

  it('capacity-bound-v2 is capacity-bound with the overrides the regime probe measured', async () => {
    // SYNTHETIC.md's probe ran `capacity-bound` plus these overrides: the preset must give the
    // same rows, or its figures are not the preset's.
    const probed = {
      preset: 'capacity-bound',
      numDense: 26,
      denseShare: 0.9,
      teacherLinearShare: 0.2,
      logitStd: 3,
    } as const;
    const { preset: _a, ...v2 } = resolveSyntheticConfig({ preset: 'capacity-bound-v2', rows: 10 });
    const { preset: _b, ...overridden } = resolveSyntheticConfig({ ...probed, rows: 10 });
    assert.deepEqual(v2, overridden);
    const rows = { rows: 600, seed: 3, teacherSeed: 1 };
    assert.deepEqual(
      await all(createSyntheticSource({ preset: 'capacity-bound-v2', ...rows }), 256),
      await all(createSyntheticSource({ ...probed, ...rows }), 256),
    );
    assert.notDeepEqual(
      resolveSyntheticConfig({ preset: 'capacity-bound', rows: 10 }).numDense,
      v2.numDense,
    );
  });

  it('opens through openSource', async () => {
    const src = openSource({ kind: 'synthetic', ...small, rows: 300 });
    assert.match(src.describe(), /synthetic capacity-bound seed 1 train \(300 rows/);
    assert.equal((await all(src, 128)).labels.length, 300);
  });
});

describe('ZipfSampler', () => {
  it('draws ranks with P(k) ∝ 1/(k+1)^s', () => {
    const z = new ZipfSampler(50, 1.1);
    const rng = createRng(1);
    const counts = new Array<number>(50).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[z.sample(rng)]!++;
    let total = 0;
    for (let k = 0; k < 50; k++) total += Math.pow(k + 1, -1.1);
    for (const k of [0, 1, 9, 49]) {
      const expected = (n * Math.pow(k + 1, -1.1)) / total;
      assert.ok(
        Math.abs(counts[k]! - expected) < 5 * Math.sqrt(expected),
        `rank ${k}: ${counts[k]} vs ${expected}`,
      );
    }
  });
});
