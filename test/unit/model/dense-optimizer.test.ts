import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { DenseOptimizerConfig } from '../../../schemas/model-config';
import { initBackend } from '../../../src/model/backend';
import { createDenseOptimizer } from '../../../src/model/dense-optimizer';
import type { DenseTowers } from '../../../src/model/params';
import { assertClose, useBackendOrSkip } from './helpers';

/** One bottom layer w = [[1, 2]], b = [0.5, −0.5] and one top layer w = [[3]], b = [1]. */
function towers(): DenseTowers {
  return {
    bottom: [{ w: tf.tensor2d([[1, 2]]), b: tf.tensor1d([0.5, -0.5]) }],
    top: [{ w: tf.tensor2d([[3]]), b: tf.tensor1d([1]) }],
  };
}

function grads(scale: number): DenseTowers {
  return {
    bottom: [{ w: tf.tensor2d([[0.1 * scale, -0.2 * scale]]), b: tf.tensor1d([0.3 * scale, 0]) }],
    top: [{ w: tf.tensor2d([[-1 * scale]]), b: tf.tensor1d([2 * scale]) }],
  };
}

/** Runs two updates with gradients g and 2g; returns the bottom w and b afterwards. */
function twoSteps(cfg: Record<string, unknown>): {
  w: Float32Array;
  b: Float32Array;
  slots: number;
} {
  const opt = createDenseOptimizer(DenseOptimizerConfig.parse(cfg));
  const t = towers();
  const slots = opt.initSlots(t);
  for (const step of [1, 2]) {
    const g = grads(step);
    opt.apply(t, g, slots, step);
    tf.dispose([...g.bottom, ...g.top].flatMap((l) => [l.w, l.b]));
  }
  const layer = t.bottom[0];
  assert.ok(layer);
  const out = {
    w: Float32Array.from(layer.w.dataSync()),
    b: Float32Array.from(layer.b.dataSync()),
    slots: slots.bottom[0]?.w.length ?? -1,
  };
  tf.dispose([...t.bottom, ...t.top].flatMap((l) => [l.w, l.b]));
  tf.dispose([...slots.bottom, ...slots.top].flatMap((s) => [...s.w, ...s.b]));
  return out;
}

describe('dense optimizers', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('SGD: w −= lr·g, no slots', () => {
    const r = twoSteps({ kind: 'sgd', lr: 0.1 });
    assert.equal(r.slots, 0);
    // w0 = 1 − 0.1·(0.1 + 0.2) = 0.97; w1 = 2 + 0.1·(0.2 + 0.4) = 2.06
    assertClose(r.w, [0.97, 2.06]);
    assertClose(r.b, [0.5 - 0.1 * 0.9, -0.5]);
  });

  it('momentum: v = μv + g, w −= lr·v', () => {
    const r = twoSteps({ kind: 'momentum', lr: 0.1, momentum: 0.9 });
    assert.equal(r.slots, 1);
    // w0: v1 = 0.1, w = 0.99; v2 = 0.09 + 0.2 = 0.29, w = 0.99 − 0.029 = 0.961
    assertClose(r.w, [0.961, 2 + 0.02 + 0.058]);
  });

  it('Adam: bias-corrected moments, ε outside the square root', () => {
    const lr = 0.01;
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const r = twoSteps({ kind: 'adam', lr, betas: [b1, b2], eps });
    assert.equal(r.slots, 2);
    const expected = [0.1, -0.2].map((g1, i) => {
      let w = [1, 2][i] as number;
      let m = 0;
      let v = 0;
      [g1, 2 * g1].forEach((g, k) => {
        const t = k + 1;
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        w -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
      });
      return w;
    });
    assertClose(r.w, expected, 1e-6, 1e-5);
    // A zero gradient leaves b[1] exactly where it was.
    assert.equal(r.b[1], -0.5);
  });

  it('frees the tensors it replaces', () => {
    const before = tf.memory().numTensors;
    twoSteps({ kind: 'adam' });
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('dense optimizers on tensorflow: one graph run for every parameter', () => {
  /** Three updates (lr scales 1, 0.5, 2) from the same start; every weight and slot after them. */
  function threeSteps(cfg: DenseOptimizerConfig, eager: boolean): Float32Array[] {
    const previous = process.env['AGP_TF_STEP'];
    if (eager) process.env['AGP_TF_STEP'] = 'eager';
    const opt = createDenseOptimizer(cfg);
    if (eager) {
      if (previous === undefined) delete process.env['AGP_TF_STEP'];
      else process.env['AGP_TF_STEP'] = previous;
    }
    const t = towers();
    const slots = opt.initSlots(t);
    [1, 0.5, 2].forEach((lrScale, k) => {
      const g = grads(k + 1);
      opt.apply(t, g, slots, k + 1, lrScale);
      tf.dispose([...g.bottom, ...g.top].flatMap((l) => [l.w, l.b]));
    });
    const all = [
      ...[...t.bottom, ...t.top].flatMap((l) => [l.w, l.b]),
      ...[...slots.bottom, ...slots.top].flatMap((s) => [...s.w, ...s.b]),
    ];
    const out = all.map((x) => Float32Array.from(x.dataSync()));
    tf.dispose(all);
    opt.dispose();
    return out;
  }

  it('gives exactly the eager rules’ weights and slots (momentum, Adam) and leaks no tensors', async (t) => {
    if (!(await useBackendOrSkip(t))) return;
    try {
      const before = tf.memory().numTensors;
      for (const cfg of [
        { kind: 'momentum', lr: 0.1, momentum: 0.9 },
        { kind: 'adam', lr: 0.01 },
      ]) {
        const parsed = DenseOptimizerConfig.parse(cfg);
        assert.deepEqual(threeSteps(parsed, false), threeSteps(parsed, true), parsed.kind);
      }
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await initBackend('cpu');
    }
  });
});
