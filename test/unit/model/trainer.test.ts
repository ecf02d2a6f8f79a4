import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../../../src/errors';
import { initBackend } from '../../../src/model/backend';
import { denseArch } from '../../../src/model/dense-arch';
import { interactionArch } from '../../../src/model/interaction-arch';
import { mlpForward } from '../../../src/model/mlp';
import type { DenseLayer } from '../../../src/model/params';
import { createStepGuard } from '../../../src/model/step-guard';
import { createTrainer } from '../../../src/model/trainer';
import { assertClose, randomBatch, tinyConfig, useBackendOrSkip } from './helpers';

describe('trainer', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('keeps tf.memory().numTensors constant over 20 steps, with and without probes', () => {
    for (const kind of ['sgd', 'adam'] as const) {
      const trainer = createTrainer(tinyConfig({ denseOptimizer: { kind } }));
      trainer.step(randomBatch(trainer.config, 8, 0));
      const start = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) {
        trainer.step(randomBatch(trainer.config, 8, i + 1), { probeActivations: i % 3 === 0 });
        trainer.predict(randomBatch(trainer.config, 4, i));
      }
      assert.equal(tf.memory().numTensors, start, kind);
      assert.equal(trainer.stepCount, 21);
      trainer.dispose();
    }
  });

  it('lowers the loss on a trivially learnable batch', () => {
    const trainer = createTrainer(tinyConfig());
    const batch = randomBatch(trainer.config, 32, 3);
    // The label is the sign of the first dense feature.
    const labels = Float32Array.from({ length: 32 }, (_, b) =>
      (batch.dense[b * 3] as number) > 0 ? 1 : 0,
    );
    const learnable = { ...batch, labels };
    const first = trainer.step(learnable).loss;
    let last = first;
    for (let i = 0; i < 150; i++) last = trainer.step(learnable).loss;
    assert.ok(first > 0.5, `first loss ${first}`);
    assert.ok(last < 0.25 * first, `loss ${first} → ${last}`);
    const p = trainer.predict(learnable);
    assert.equal(p.length, 32);
    const accuracy = p.filter((v, b) => (v > 0.5 ? 1 : 0) === labels[b]).length / 32;
    assert.ok(accuracy > 0.9, `accuracy ${accuracy}`);
    trainer.dispose();
  });

  it('Taylor probes return mean |a · dL/da| per neuron of every hidden layer', () => {
    const trainer = createTrainer(tinyConfig());
    const batch = randomBatch(trainer.config, 8, 11);
    // Expected for top.1 in closed form, from the weights before the step:
    // dL/da_j = (σ(logit) − y)/B · w2_j, only where the layer is followed by the linear logit.
    const expected = tf.tidy(() => {
      const { towers, embeddings } = trainer;
      const slab = embeddings.gather(batch.sparse, 8);
      const x = interactionArch(denseArch(towers.bottom, tf.tensor2d(batch.dense, [8, 3])), slab);
      const a = mlpForward(towers.top.slice(0, 2), x, 'relu');
      const last = towers.top[2] as DenseLayer;
      const p = tf.sigmoid(tf.add(tf.matMul(a, last.w), last.b));
      const dLogit = tf.div(tf.sub(p, tf.tensor2d(batch.labels, [8, 1])), 8);
      const g = tf.matMul(dLogit, tf.transpose(last.w));
      return tf.mean(tf.abs(tf.mul(a, g)), 0).dataSync();
    });
    const { activationStats } = trainer.step(batch, { probeActivations: true });
    assert.ok(activationStats);
    assert.deepEqual(
      Object.fromEntries(Object.entries(activationStats).map(([k, v]) => [k, v.length])),
      { 'bottom.0': 8, 'bottom.1': 6, 'top.0': 8, 'top.1': 5 },
    );
    assertClose(activationStats['top.1'] as Float32Array, expected, 1e-7, 1e-4, 'top.1');
    assert.ok((activationStats['bottom.0'] as Float32Array).some((v) => v > 0));
    trainer.dispose();
  });

  it('trains at whatever widths the tower tensors have (AGP surgery between steps)', () => {
    const trainer = createTrainer(tinyConfig({ denseOptimizer: { kind: 'momentum' } }));
    trainer.step(randomBatch(trainer.config, 8, 1));
    // Prune bottom.0 from 8 to 3 neurons by hand: its columns, and the next layer's rows.
    const keep = tf.tensor1d([0, 2, 5], 'int32');
    const l0 = trainer.towers.bottom[0] as DenseLayer;
    const l1 = trainer.towers.bottom[1] as DenseLayer;
    const s0 = trainer.slots.bottom[0];
    const s1 = trainer.slots.bottom[1];
    assert.ok(s0 && s1);
    const old = [l0.w, l0.b, l1.w, ...s0.w, ...s0.b, ...s1.w];
    trainer.towers.bottom[0] = { w: tf.gather(l0.w, keep, 1), b: tf.gather(l0.b, keep) };
    trainer.towers.bottom[1] = { w: tf.gather(l1.w, keep, 0), b: l1.b };
    trainer.slots.bottom[0] = {
      w: s0.w.map((s) => tf.gather(s, keep, 1)),
      b: s0.b.map((s) => tf.gather(s, keep)),
    };
    trainer.slots.bottom[1] = { w: s1.w.map((s) => tf.gather(s, keep, 0)), b: s1.b };
    tf.dispose([...old, keep]);
    const before = tf.memory().numTensors;
    const r = trainer.step(randomBatch(trainer.config, 8, 2), { probeActivations: true });
    assert.ok(Number.isFinite(r.loss));
    assert.equal(r.activationStats?.['bottom.0']?.length, 3);
    assert.deepEqual(trainer.towers.bottom[0]?.w.shape, [3, 3]);
    assert.deepEqual(trainer.slots.bottom[1]?.w[0]?.shape, [3, 6]);
    assert.equal(tf.memory().numTensors, before);
    trainer.dispose();
  });

  it('rejects a batch that does not fit the model with a DataError', () => {
    const trainer = createTrainer(tinyConfig());
    const batch = randomBatch(trainer.config, 4, 1);
    assert.throws(() => trainer.step({ ...batch, numDense: 2 }), DataError);
    const bad = Int32Array.from(batch.sparse);
    bad[4] = 99;
    assert.throws(() => trainer.step({ ...batch, sparse: bad }), /table 1: index 99/);
    trainer.dispose();
  });

  it('dispose frees every tensor it owns', () => {
    const before = tf.memory().numTensors;
    const trainer = createTrainer(tinyConfig({ denseOptimizer: { kind: 'adam' } }));
    trainer.step(randomBatch(trainer.config, 4, 1));
    trainer.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('lrScale scales every learning rate: ½·lr 0.2 equals lr 0.1, and 0 moves nothing', () => {
    const snapshot = (t: ReturnType<typeof createTrainer>): number[] => [
      ...t.towers.bottom.flatMap((l) => [...l.w.dataSync(), ...l.b.dataSync()]),
      ...t.towers.top.flatMap((l) => [...l.w.dataSync(), ...l.b.dataSync()]),
      ...t.embeddings.tables.flatMap((table) => [...table]),
    ];
    for (const kind of ['sgd', 'adam'] as const) {
      const lr = (v: number): Record<string, unknown> => ({
        denseOptimizer: { kind, lr: v },
        embeddingOptimizer: { kind: 'rowwise-adagrad', lr: v },
      });
      const half = createTrainer(tinyConfig(lr(0.2)));
      const plain = createTrainer(tinyConfig(lr(0.1)));
      for (let i = 0; i < 5; i++) {
        half.step(randomBatch(half.config, 8, i), { lrScale: 0.5 });
        plain.step(randomBatch(plain.config, 8, i));
      }
      const a = snapshot(half);
      const b = snapshot(plain);
      assert.equal(a.length, b.length);
      assert.ok(
        a.every((v, i) => Math.abs(v - (b[i] as number)) < 1e-5),
        `${kind}: weights differ`,
      );
      const before = snapshot(plain);
      const { loss } = plain.step(randomBatch(plain.config, 8, 9), { lrScale: 0 });
      assert.ok(Number.isFinite(loss) && loss > 0, `${kind}: loss ${loss}`);
      assert.deepEqual(snapshot(plain), before, `${kind}: lr 0 moved the weights`);
      half.dispose();
      plain.dispose();
    }
  });
});

describe('trainer step predictions (the recurring trainer scores with the step)', () => {
  after(async () => {
    await initBackend('cpu');
  });

  for (const backend of ['cpu', 'tensorflow'] as const) {
    it(`${backend}: equal predict() just before the step, for the fused and the plain update`, async (t) => {
      if (!(await useBackendOrSkip(t, backend))) return;
      for (const kind of ['sgd', 'adam'] as const) {
        const trainer = createTrainer(tinyConfig({ denseOptimizer: { kind } }));
        const guard = createStepGuard();
        for (let i = 0; i < 4; i++) {
          const batch = randomBatch(trainer.config, 16, 40 + i);
          const before = trainer.predict(batch);
          const outcome = trainer.step(batch, { predictions: true, ...(i % 2 ? { guard } : {}) });
          assert.ok(outcome.predictions, `${kind} step ${i} returned predictions`);
          assertClose(outcome.predictions, before, 1e-6, 1e-5, `${backend} ${kind} step ${i}`);
          // The step did train: the same batch now scores differently.
          assert.notDeepEqual(trainer.predict(batch), before);
        }
        assert.equal(trainer.step(randomBatch(trainer.config, 4, 1)).predictions, undefined);
        trainer.dispose();
      }
    });
  }
});
