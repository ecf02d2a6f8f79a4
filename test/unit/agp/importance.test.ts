import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { computeImportance, hiddenLayers } from '../../../src/agp/importance';
import { planPrune } from '../../../src/agp/plan';
import { createTaylorAccumulator } from '../../../src/agp/taylor';
import type { DenseTowers } from '../../../src/model/params';
import { assertClose, useBackend } from './tiny-mlp';

describe('importance, plan, taylor', () => {
  before(useBackend);

  function towers(): DenseTowers {
    return {
      // bottom.0: columns [3, 4] and [0, 1] → incoming norms 5 and 1; bias left out
      // bottom.1: rows [1, 0, 0] and [0, 2, 0] → outgoing norms 1 and 2
      bottom: [
        { w: tf.tensor2d([3, 0, 4, 1], [2, 2]), b: tf.tensor1d([100, -100]) },
        { w: tf.tensor2d([1, 0, 0, 0, 2, 0], [2, 3]), b: tf.tensor1d([0, 0, 0]) },
      ],
      top: [{ w: tf.tensor2d([1, 1, 1, 1], [4, 1]), b: tf.tensor1d([0]) }],
    };
  }

  it('hidden layers are every layer of a tower but its last', () => {
    const t = towers();
    assert.deepEqual(hiddenLayers(t), [{ tower: 'bottom', index: 0 }]);
    tf.dispose([...t.bottom, ...t.top].flatMap((l) => [l.w, l.b]));
  });

  it('l2-inout and l2-in scores, hand computed; no tensor leaks', () => {
    const t = towers();
    const start = tf.memory().numTensors;
    assertClose(computeImportance(t, 'l2-inout')['bottom.0'] ?? [], [5 * 1, 1 * 2]);
    assertClose(computeImportance(t, 'l2-in')['bottom.0'] ?? [], [5, 1]);
    assert.equal(tf.memory().numTensors, start);
    tf.dispose([...t.bottom, ...t.top].flatMap((l) => [l.w, l.b]));
  });

  it('taylor scores are taken from the accumulator and checked against the widths', () => {
    const t = towers();
    const taylor = { 'bottom.0': Float32Array.from([0.5, 0.25]) };
    assert.deepEqual(
      Array.from(computeImportance(t, 'taylor', taylor)['bottom.0'] ?? []),
      [0.5, 0.25],
    );
    assert.throws(
      () => computeImportance(t, 'taylor'),
      /taylor importance of bottom\.0 needs 2 scores, got none/,
    );
    assert.throws(
      () => computeImportance(t, 'taylor', { 'bottom.0': new Float32Array(3) }),
      /needs 2 scores, got 3/,
    );
    tf.dispose([...t.bottom, ...t.top].flatMap((l) => [l.w, l.b]));
  });

  it('planPrune keeps the top-k as sorted indices; ties to the lower index; NaN ranks last', () => {
    const plan = planPrune(
      {
        'bottom.0': Float32Array.from([0.1, 0.9, 0.5, 0.9, 0.2]),
        'top.0': Float32Array.from([NaN, 1, 1, 0]),
        'top.1': Float32Array.from([1, 2]),
      },
      { 'bottom.0': 3, 'top.0': 2, 'top.1': 2 },
    );
    assert.deepEqual(Array.from(plan['bottom.0'] ?? []), [1, 2, 3]);
    assert.deepEqual(Array.from(plan['top.0'] ?? []), [1, 2]);
    assert.equal(plan['top.1'], undefined, 'a layer already at its target width is left alone');
    assert.deepEqual(
      Array.from(planPrune({ a: Float32Array.from([NaN, 0, NaN]) }, { a: 2 }).a ?? []),
      [0, 1],
    );
    assert.throws(() => planPrune({ a: new Float32Array(2) }, { a: 3 }), /cannot widen it to 3/);
    assert.throws(() => planPrune({}, { a: 1 }), /no importance scores for a/);
  });

  it('taylor accumulator averages the last K batches and resumes from JSON', () => {
    const acc = createTaylorAccumulator(2);
    assert.throws(() => acc.mean(), /no taylor scores/);
    acc.add({ l: Float32Array.from([1, 2]) });
    acc.add({ l: Float32Array.from([3, 4]) });
    assertClose(acc.mean().l ?? [], [2, 3]);
    acc.add({ l: Float32Array.from([5, 10]) });
    assertClose(acc.mean().l ?? [], [4, 7]);
    const back = createTaylorAccumulator(2, JSON.parse(JSON.stringify(acc.toJSON())));
    assert.equal(back.count(), 2);
    assertClose(back.mean().l ?? [], [4, 7]);
    assert.throws(() => back.add({ l: new Float32Array(3) }), /reset after surgery/);
    back.reset();
    back.add({ l: new Float32Array(3) });
    assert.equal(back.count(), 1);
    assert.throws(() => createTaylorAccumulator(0), /positive integer/);
  });
});
