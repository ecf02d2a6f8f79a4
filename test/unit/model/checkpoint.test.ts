import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../../../src/errors';
import { initBackend } from '../../../src/model/backend';
import { loadCheckpoint, saveCheckpoint } from '../../../src/model/checkpoint';
import type { DenseLayer } from '../../../src/model/params';
import { createTrainer, type Trainer } from '../../../src/model/trainer';
import { randomBatch, tinyConfig } from './helpers';

function snapshot(t: Trainer): Float32Array[] {
  const towers = [...t.towers.bottom, ...t.towers.top].flatMap((l) => [l.w, l.b]);
  const slots = [...t.slots.bottom, ...t.slots.top].flatMap((s) => [...s.w, ...s.b]);
  return [
    ...[...towers, ...slots].map((x) => Float32Array.from(x.dataSync())),
    ...t.embeddings.tables.map((x) => Float32Array.from(x)),
    ...(t.embeddings.accumulators ?? []).map((x) => Float32Array.from(x)),
  ];
}

describe('checkpoints', () => {
  let root = '';
  before(async () => {
    await initBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'agp-ckpt-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips weights, slots, embeddings, step count and extra; the next step is identical', async () => {
    const config = tinyConfig({
      denseOptimizer: { kind: 'adam', lr: 0.01 },
      embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.05 },
    });
    const a = createTrainer(config);
    for (let i = 0; i < 3; i++) a.step(randomBatch(config, 8, i));
    const dir = join(root, 'step-3');
    const extra = { agp: { phase: 'warmup' }, rng: [1, 2, 3, 4], offsets: { '0': '17' } };
    await saveCheckpoint(dir, a, extra);
    assert.deepEqual((await readdir(root)).sort(), ['step-3']);
    const { trainer: b, extra: back } = await loadCheckpoint(dir);
    assert.deepEqual(back, extra);
    assert.equal(b.stepCount, 3);
    assert.deepEqual(b.config, config);
    assert.deepEqual(snapshot(b), snapshot(a));
    const next = randomBatch(config, 8, 99);
    assert.equal(b.step(next).loss, a.step(next).loss);
    assert.deepEqual(snapshot(b), snapshot(a));
    a.dispose();
    b.dispose();
  });

  it('rebuilds tensors at the saved widths of a mid-prune checkpoint', async () => {
    const config = tinyConfig({ denseOptimizer: { kind: 'momentum' } });
    const a = createTrainer(config);
    a.step(randomBatch(config, 8, 1));
    const keep = tf.tensor1d([1, 3], 'int32');
    const t0 = a.towers.top[0] as DenseLayer;
    const t1 = a.towers.top[1] as DenseLayer;
    const s0 = a.slots.top[0];
    const s1 = a.slots.top[1];
    assert.ok(s0 && s1);
    a.towers.top[0] = { w: tf.gather(t0.w, keep, 1), b: tf.gather(t0.b, keep) };
    a.towers.top[1] = { w: tf.gather(t1.w, keep, 0), b: t1.b };
    a.slots.top[0] = {
      w: s0.w.map((s) => tf.gather(s, keep, 1)),
      b: s0.b.map((s) => tf.gather(s, keep)),
    };
    a.slots.top[1] = { w: s1.w.map((s) => tf.gather(s, keep, 0)), b: s1.b };
    tf.dispose([t0.w, t0.b, t1.w, ...s0.w, ...s0.b, ...s1.w, keep]);
    const dir = join(root, 'pruned');
    await saveCheckpoint(dir, a, null);
    const { trainer: b } = await loadCheckpoint(dir);
    assert.deepEqual(b.towers.top[0]?.w.shape, [10, 2]);
    assert.deepEqual(b.towers.top[1]?.w.shape, [2, 5]);
    assert.deepEqual(snapshot(b), snapshot(a));
    const next = randomBatch(config, 8, 5);
    assert.equal(b.step(next).loss, a.step(next).loss);
    a.dispose();
    b.dispose();
  });

  it('replaces an existing checkpoint directory atomically', async () => {
    const config = tinyConfig();
    const a = createTrainer(config);
    const dir = join(root, 'latest');
    await saveCheckpoint(dir, a, { n: 1 });
    a.step(randomBatch(config, 8, 1));
    await saveCheckpoint(dir, a, { n: 2 });
    const { trainer: b, extra } = await loadCheckpoint(dir);
    assert.deepEqual(extra, { n: 2 });
    assert.equal(b.stepCount, 1);
    assert.ok(
      (await readdir(root)).every((name) => !name.startsWith('.')),
      'no temp dirs left',
    );
    a.dispose();
    b.dispose();
  });

  it('refuses a corrupt tensor or manifest with a DataError naming the file and tensor', async () => {
    const config = tinyConfig();
    const a = createTrainer(config);
    const dir = join(root, 'corrupt');
    await saveCheckpoint(dir, a, null);
    a.dispose();
    const file = join(dir, 'embedding-001.bin');
    const bytes = await readFile(file);
    bytes[5] = (bytes[5] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const before = tf.memory().numTensors;
    await assert.rejects(loadCheckpoint(dir), (e: unknown) => {
      return (
        e instanceof DataError &&
        e.message.includes('embedding-001.bin') &&
        e.message.includes("'embedding.1.rows'")
      );
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors leak from a failed load');
    await writeFile(join(dir, 'manifest.json'), '{"format":"agp-checkpoint","version":9}');
    await assert.rejects(loadCheckpoint(dir), /manifest\.json: not an agp checkpoint/);
    await assert.rejects(loadCheckpoint(join(root, 'missing')), DataError);
  });
});
