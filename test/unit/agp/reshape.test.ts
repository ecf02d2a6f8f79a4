import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseAgpConfig } from '../../../schemas/agp-config';
import type { AgpConfigInput } from '../../../schemas/agp-config';
import { createAgpController } from '../../../src/agp/controller';
import type { AgpSurgeryState } from '../../../src/agp/reshape';
import { reshapeTo } from '../../../src/agp/reshape';
import { widthsOf } from '../../../src/agp/surgery';
import type { DenseTowers, TowerSlots } from '../../../src/model/params';
import { createRng } from '../../../src/rng';
import { assertClose, disposeModel, forward, tinyModel, useBackend, values } from './tiny-mlp';

/** Runs a whole schedule with no training, calling `between` once per pruned step. */
function run(
  input: AgpConfigInput,
  seed: number,
  between?: (m: { towers: DenseTowers; slots: TowerSlots }) => void,
) {
  // The prototype's schedule (ratio 0.5, 10% / 65% / 25%) unless the test says otherwise.
  const config = parseAgpConfig({
    ratio: 0.5,
    warmup: 0.1,
    prune: 0.65,
    finalDense: 0.25,
    ...input,
  });
  const rng = createRng(seed);
  let model = tinyModel(rng);
  const original = model.towers.bottom.map((l) => values(l.w));
  const c = createAgpController(config, { totalSteps: 10, fullWidths: widthsOf(model.towers) });
  let state: AgpSurgeryState = {};
  const events: string[] = [];
  for (let step = 0; step < 10; step++) {
    const plan = c.at(step);
    if (plan.event) {
      const r = reshapeTo({ ...model, target: plan.widths, config, state, rng });
      model = { towers: r.towers, slots: r.slots };
      state = r.state;
      events.push(`${step}:${r.event}`);
    }
    assert.deepEqual(widthsOf(model.towers), plan.widths, `step ${step}`);
    if (plan.phase === 'pruned') between?.(model);
  }
  return { model, original, events, state };
}

describe('reshapeTo over a controller timeline', () => {
  before(useBackend);

  it('restore: a full cycle gives back the full model; kept neurons keep their training', () => {
    const start = tf.memory().numTensors;
    const { model, original, events, state } = run(
      { growth: 'restore', warmup: 2, prune: 5, finalDense: 3 },
      1,
      (m) => {
        // "training": add 1 to every remaining weight of bottom.1
        const layer = m.towers.bottom[1];
        assert.ok(layer);
        const old = layer.w;
        layer.w = tf.tidy(() => tf.add(old, 1));
        old.dispose();
      },
    );
    assert.deepEqual(events, ['2:prune', '7:grow']);
    assert.deepEqual(state, {});
    assert.deepEqual(values(model.towers.bottom[0]?.w as tf.Tensor), original[0]);
    // bottom.1 [6, 4]: entries between kept neurons moved by +5 (5 pruned steps), others restored
    const now = values(model.towers.bottom[1]?.w as tf.Tensor);
    const moved = now.map((v, i) => Math.round(v - (original[1]?.[i] ?? 0)));
    const keptRows = [0, 1, 2, 3, 4, 5].filter((r) => moved.slice(r * 4, r * 4 + 4).some((d) => d));
    assert.equal(keptRows.length, 3, 'half of bottom.0 kept');
    assert.equal(moved.filter((d) => d === 5).length, 3 * 2, 'kept rows × kept columns');
    assert.ok(moved.every((d) => d === 0 || d === 5));
    disposeModel(model.towers, model.slots);
    assert.equal(tf.memory().numTensors, start);
  });

  it('zero-out with a ramp: two prunes, one grow, function preserved across the grow', () => {
    const start = tf.memory().numTensors;
    const x = tf.tensor2d(
      Array.from({ length: 15 }, (_, i) => Math.sin(i)),
      [3, 5],
    );
    let lastPruned: Float32Array = new Float32Array(0);
    const { model, events } = run(
      { growth: 'zero-out', warmup: 1, prune: 6, ramp: 2, finalDense: 3 },
      2,
      (m) => (lastPruned = forward(m.towers.bottom, x)),
    );
    assert.deepEqual(events, ['1:prune', '2:prune', '7:grow']);
    assertClose(forward(model.towers.bottom, x), lastPruned);
    x.dispose();
    disposeModel(model.towers, model.slots);
    assert.equal(tf.memory().numTensors, start);
  });

  it('split with taylor importance uses the given scores; mixed or partial reshapes are errors', () => {
    const config = parseAgpConfig({ importance: 'taylor' });
    const rng = createRng(3);
    const m = tinyModel(rng);
    const taylor = {
      'bottom.0': Float32Array.from([6, 5, 4, 3, 2, 1]),
      'bottom.1': Float32Array.from([1, 2, 3, 4]),
      'top.0': Float32Array.from([0, 0, 0, 0, 9]),
    };
    const target = { 'bottom.0': 3, 'bottom.1': 2, 'top.0': 3 };
    const p = reshapeTo({ ...m, target, config, state: {}, rng, taylor });
    assert.deepEqual(p.state.record?.layers['bottom.0']?.kept, [0, 1, 2]);
    assert.deepEqual(p.state.record?.layers['bottom.1']?.kept, [2, 3]);
    assert.deepEqual(p.state.record?.layers['top.0']?.kept, [0, 1, 4]);
    assert.throws(
      () => reshapeTo({ ...p, target: { 'bottom.0': 6, 'bottom.1': 1, 'top.0': 3 }, config, rng }),
      /cannot both narrow bottom\.1 and widen bottom\.0/,
    );
    assert.throws(
      () => reshapeTo({ ...p, target: { 'bottom.0': 6, 'bottom.1': 2, 'top.0': 3 }, config, rng }),
      /cannot widen bottom\.1, top\.0/,
    );
    const g = reshapeTo({
      ...p,
      target: { 'bottom.0': 6, 'bottom.1': 4, 'top.0': 5 },
      config,
      rng,
    });
    assert.equal(g.event, 'grow');
    assert.deepEqual(widthsOf(g.towers), { 'bottom.0': 6, 'bottom.1': 4, 'top.0': 5 });
    disposeModel(g.towers, g.slots);
  });
});
