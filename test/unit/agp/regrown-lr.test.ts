import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { createRegrownLrBoost } from '../../../src/agp/regrown-lr';
import type { DenseTowers } from '../../../src/model/params';
import { createRng } from '../../../src/rng';
import { assertClose, disposeModel, tinyModel, useBackend, values } from './tiny-mlp';

/** A stand-in for one optimizer step: every weight moves by +0.5, every bias by −0.25. */
function fakeStep(towers: DenseTowers): void {
  for (const t of ['bottom', 'top'] as const) {
    for (const layer of towers[t]) {
      const w = tf.add(layer.w, 0.5) as tf.Tensor2D;
      const b = tf.sub(layer.b, 0.25) as tf.Tensor1D;
      tf.dispose([layer.w, layer.b]);
      layer.w = w;
      layer.b = b;
    }
  }
}

describe('regrown-neuron lr boost (issue 22 item 5)', () => {
  before(useBackend);

  it('scales exactly the updates of weights touching a regrown neuron, decaying to 1', () => {
    const { towers, slots } = tinyModel(createRng(3));
    // bottom.0 (6 wide) regrew neurons 1 and 4; top.0 (5 wide) regrew neuron 2.
    const boost = createRegrownLrBoost(towers, {
      regrown: { 'bottom.0': [1, 4], 'top.0': [2] },
      fromStep: 100,
      steps: 10,
      factor: 3,
    });
    assert.ok(boost);
    assert.equal(boost.factorAt(99), 1);
    assert.equal(boost.factorAt(100), 3);
    assert.equal(boost.factorAt(105), 2);
    assert.equal(boost.factorAt(110), 1);
    assert.equal(boost.active(109), true);
    assert.equal(boost.active(110), false);

    const before = {
      b0w: values(towers.bottom[0]!.w),
      b0b: values(towers.bottom[0]!.b),
      b1w: values(towers.bottom[1]!.w),
      b2w: values(towers.bottom[2]!.w),
      t0w: values(towers.top[0]!.w),
      t0b: values(towers.top[0]!.b),
      t1w: values(towers.top[1]!.w),
    };
    const ret = boost.around(
      100,
      () => towers,
      () => (fakeStep(towers), 'stepped'),
    );
    assert.equal(ret, 'stepped');
    const moved = (now: number[], was: number[]) => now.map((v, i) => v - (was[i] ?? NaN));

    // bottom.0's w is [5, 6]: columns 1 and 4 moved 3 × 0.5, the others 0.5.
    const dW0 = moved(values(towers.bottom[0]!.w), before.b0w);
    assertClose(
      dW0,
      dW0.map((_, k) => ([1, 4].includes(k % 6) ? 1.5 : 0.5)),
    );
    const dB0 = moved(values(towers.bottom[0]!.b), before.b0b);
    assertClose(
      dB0,
      dB0.map((_, j) => ([1, 4].includes(j) ? -0.75 : -0.25)),
    );
    // bottom.1's w is [6, 4]: rows 1 and 4 (the regrown neurons' outgoing weights) moved 3×.
    const dW1 = moved(values(towers.bottom[1]!.w), before.b1w);
    assertClose(
      dW1,
      dW1.map((_, k) => ([1, 4].includes(Math.floor(k / 4)) ? 1.5 : 0.5)),
    );
    // bottom.2 touches no regrown neuron: plain update.
    const dW2 = moved(values(towers.bottom[2]!.w), before.b2w);
    assertClose(
      dW2,
      dW2.map(() => 0.5),
    );
    // top.0's column 2 and top.1's row 2.
    const dT0 = moved(values(towers.top[0]!.w), before.t0w);
    assertClose(
      dT0,
      dT0.map((_, k) => (k % 5 === 2 ? 1.5 : 0.5)),
    );
    const dT1 = moved(values(towers.top[1]!.w), before.t1w);
    assertClose(
      dT1,
      dT1.map((_, k) => (k === 2 ? 1.5 : 0.5)),
    );

    // Outside the boost the step is untouched.
    const w = values(towers.bottom[0]!.w);
    boost.around(
      120,
      () => towers,
      () => fakeStep(towers),
    );
    assertClose(
      moved(values(towers.bottom[0]!.w), w),
      w.map(() => 0.5),
    );

    // The state round-trips through JSON (a checkpoint mid-boost resumes it).
    const again = createRegrownLrBoost(towers, boost.toJSON());
    assert.ok(again);
    assert.equal(again.factorAt(105), 2);
    again.dispose();
    boost.dispose();
    disposeModel(towers, slots);
  });

  it('is off at factor 1 or with no regrown neuron, and names a bad layer', () => {
    const { towers, slots } = tinyModel(createRng(4));
    const base = { fromStep: 0, steps: 10, factor: 2 };
    assert.equal(createRegrownLrBoost(towers, { ...base, regrown: {}, factor: 1 }), undefined);
    assert.equal(createRegrownLrBoost(towers, { ...base, regrown: { 'top.0': [] } }), undefined);
    assert.throws(
      () => createRegrownLrBoost(towers, { ...base, regrown: { 'top.1': [0] } }),
      /'top.1' is not a hidden layer/,
    );
    assert.throws(
      () => createRegrownLrBoost(towers, { ...base, regrown: { 'top.0': [9] } }),
      /top.0: neuron 9 outside its width 5/,
    );
    disposeModel(towers, slots);
  });

  it('does not leak tensors', () => {
    const { towers, slots } = tinyModel(createRng(5));
    const boost = createRegrownLrBoost(towers, {
      regrown: { 'bottom.1': [0] },
      fromStep: 0,
      steps: 5,
      factor: 4,
    });
    assert.ok(boost);
    const n = tf.memory().numTensors;
    for (let s = 0; s < 7; s++)
      boost.around(
        s,
        () => towers,
        () => fakeStep(towers),
      );
    assert.equal(tf.memory().numTensors, n);
    boost.dispose();
    disposeModel(towers, slots);
  });
});
