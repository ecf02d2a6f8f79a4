import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseAgpConfig, type AgpConfigInput } from '../../../schemas/agp-config';
import {
  createAgpController,
  flopsFraction,
  agpControllerFromJSON,
} from '../../../src/agp/controller';
import { stepFlops, timelineFlops } from '../../../src/agp/flops';
import { grow } from '../../../src/agp/grow';
import {
  snapshotEntries,
  snapshotFromEntries,
  disposeSnapshot,
} from '../../../src/agp/prune-record';
import { reshapeTo, type AgpSurgeryState } from '../../../src/agp/reshape';
import { prune, widthsOf } from '../../../src/agp/surgery';
import { ConfigError } from '../../../src/errors';
import type { DenseTowers, TowerSlots } from '../../../src/model/params';
import { createRng } from '../../../src/rng';
import { disposeModel, tinyModel, useBackend, values } from './tiny-mlp';

/** [rows, cols] host copy of a 2-D tensor. */
function mat(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

/** Adds 1 to every weight, bias and slot: stands in for training between surgeries. */
function train(m: { towers: DenseTowers; slots: TowerSlots }): void {
  for (const tower of ['bottom', 'top'] as const) {
    m.towers[tower] = m.towers[tower].map((l) => {
      const next = { w: tf.add(l.w, 1) as tf.Tensor2D, b: tf.add(l.b, 1) as tf.Tensor1D };
      l.w.dispose();
      l.b.dispose();
      return next;
    });
    m.slots[tower] = m.slots[tower].map((s) => {
      const next = {
        w: s.w.map((t) => tf.add(t, 1) as tf.Tensor2D),
        b: s.b.map((t) => tf.add(t, 1) as tf.Tensor1D),
      };
      s.w.forEach((t) => t.dispose());
      s.b.forEach((t) => t.dispose());
      return next;
    });
  }
}

describe('restore growth with optimizer state', () => {
  before(useBackend);

  it('brings every rested neuron back with its own weights AND slots; kept ones keep their training', () => {
    const start = tf.memory().numTensors;
    const m = tinyModel(createRng(3));
    const before = {
      w0: mat(m.towers.bottom[0]!.w),
      b0: values(m.towers.bottom[0]!.b),
      w1: mat(m.towers.bottom[1]!.w),
      s0: mat(m.slots.bottom[0]!.w[1]!),
      sb0: values(m.slots.bottom[0]!.b[0]!),
      s1: mat(m.slots.bottom[1]!.w[0]!),
    };
    // bottom.0 (6 wide) keeps 0, 2, 5; bottom.1 (4 wide) keeps 1, 3.
    const plan = { 'bottom.0': Int32Array.from([0, 2, 5]), 'bottom.1': Int32Array.from([1, 3]) };
    const p = prune(m.towers, m.slots, plan, { keepSnapshot: true });
    const pruned = { towers: p.towers, slots: p.slots };
    train(pruned);
    assert.ok(p.snapshot);
    const g = grow(pruned.towers, pruned.slots, p.record, 'restore', createRng(1), {
      snapshot: p.snapshot,
    });
    assert.deepEqual(widthsOf(g.towers), { 'bottom.0': 6, 'bottom.1': 4, 'top.0': 5 });
    const w0 = mat(g.towers.bottom[0]!.w);
    const b0 = values(g.towers.bottom[0]!.b);
    const w1 = mat(g.towers.bottom[1]!.w);
    const s0 = mat(g.slots.bottom[0]!.w[1]!);
    const sb0 = values(g.slots.bottom[0]!.b[0]!);
    const s1 = mat(g.slots.bottom[1]!.w[0]!);
    const kept0 = new Set([0, 2, 5]);
    const kept1 = new Set([1, 3]);
    for (let j = 0; j < 6; j++) {
      const shift = kept0.has(j) ? 1 : 0;
      for (let r = 0; r < 5; r++) {
        assert.ok(Math.abs(w0[r]![j]! - (before.w0[r]![j]! + shift)) < 1e-5, `w0[${r}][${j}]`);
        assert.ok(Math.abs(s0[r]![j]! - (before.s0[r]![j]! + shift)) < 1e-5, `slot w0[${r}][${j}]`);
      }
      assert.ok(Math.abs(b0[j]! - (before.b0[j]! + shift)) < 1e-5, `b0[${j}]`);
      assert.ok(Math.abs(sb0[j]! - (before.sb0[j]! + shift)) < 1e-5, `slot b0[${j}]`);
      for (let c = 0; c < 4; c++) {
        // W1's entry trained only if both its row (bottom.0) and column (bottom.1) were kept.
        const both = kept0.has(j) && kept1.has(c) ? 1 : 0;
        assert.ok(Math.abs(w1[j]![c]! - (before.w1[j]![c]! + both)) < 1e-5, `w1[${j}][${c}]`);
        assert.ok(Math.abs(s1[j]![c]! - (before.s1[j]![c]! + both)) < 1e-5, `slot w1[${j}][${c}]`);
      }
    }
    disposeModel(g.towers, g.slots);
    assert.equal(tf.memory().numTensors, start, 'no tensor leaks');
  });

  it('snapshot entries with slots round-trip (checkpoints)', () => {
    const m = tinyModel(createRng(4));
    const p = prune(
      m.towers,
      m.slots,
      { 'top.0': Int32Array.from([0, 4]) },
      { keepSnapshot: true },
    );
    assert.ok(p.snapshot);
    const entries = snapshotEntries(p.snapshot);
    assert.ok(
      entries.some((e) => e.name === 'top.0.sw1') && entries.some((e) => e.name === 'top.1.sb0'),
    );
    const back = snapshotFromEntries(entries);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(p.snapshot).sort());
    assert.equal(back['top.0']?.slotW?.length, 2);
    assert.deepEqual(values(back['top.0']!.slotW![1]!), values(p.snapshot['top.0']!.slotW![1]!));
    assert.throws(() => snapshotFromEntries([{ name: 'top.0.sw', tensor: entries[0]!.tensor }]));
    disposeSnapshot(p.snapshot);
    disposeModel(p.towers, p.slots);
  });
});

describe('rotation', () => {
  before(useBackend);

  /** Prunes, grows and prunes again at `ratio` with the same weights; returns the two rested sets. */
  function twoPhases(input: AgpConfigInput): [number[], number[]] {
    const config = parseAgpConfig({ ratio: 0.5, growth: 'restore', ...input });
    const rng = createRng(7);
    let m = tinyModel(rng);
    const full = widthsOf(m.towers);
    const half = { ...full, 'bottom.0': 3 };
    let state: AgpSurgeryState = {};
    const rested: number[][] = [];
    for (const target of [half, full, half, full]) {
      const r = reshapeTo({ ...m, target, config, state, rng });
      if (r.event === 'prune') {
        const kept = new Set(r.state.record?.layers['bottom.0']?.kept ?? []);
        rested.push([0, 1, 2, 3, 4, 5].filter((j) => !kept.has(j)));
      }
      m = { towers: r.towers, slots: r.slots };
      state = r.state;
    }
    disposeModel(m.towers, m.slots);
    return [rested[0] ?? [], rested[1] ?? []];
  }

  it('the second pruned phase rests other neurons than the first', () => {
    const [first, second] = twoPhases({ rotation: true });
    assert.equal(first.length, 3);
    assert.equal(second.length, 3);
    assert.deepEqual(
      first.filter((j) => second.includes(j)),
      [],
      `first ${first}, second ${second}`,
    );
  });

  it('without rotation the same (least important) neurons are rested again', () => {
    // restore brings back the same weights, so the importance ranking repeats itself.
    const [first, second] = twoPhases({ rotation: false });
    assert.deepEqual(second, first);
  });
});

describe('flopsBudget and small-dense widths', () => {
  const reference = { numDense: 13, numTables: 26, bottom: [512, 256, 64, 16], top: [512, 256, 1] };
  const fullWidths = {
    'bottom.0': 512,
    'bottom.1': 256,
    'bottom.2': 64,
    'top.0': 512,
    'top.1': 256,
  };

  for (const schedule of ['agp', 'prune-only'] as const) {
    for (const budget of [0.45, 0.55, 0.6, 0.7, 0.8]) {
      it(`${schedule} at budget ${budget}: the chosen schedule's FLOPs are within ±0.02`, () => {
        const cfg = parseAgpConfig({ schedule, flopsBudget: budget });
        const c = createAgpController(cfg, { totalSteps: 1000, fullWidths, arch: reference });
        const got = flopsFraction(c.config, 1000, fullWidths, reference);
        assert.ok(Math.abs(got - budget) <= 0.02, `got ${got}`);
        // Counted at the real rounded widths of the timeline the controller runs.
        const t = timelineFlops(reference, c.phases(), 1);
        assert.ok(Math.abs(t.totalFlops / t.denseEquivalentFlops - got) < 1e-12);
        assert.notEqual(c.config.ratio, parseAgpConfig({}).ratio);
        // A checkpointed controller keeps the solved ratio.
        assert.deepEqual(agpControllerFromJSON(c.toJSON()).config.ratio, c.config.ratio);
      });
    }
  }

  it('a budget the schedule cannot reach is a ConfigError naming flopsBudget', () => {
    // 5% warmup + 10% final dense alone cost 0.15 of dense: 0.1 is out of reach.
    const cfg = parseAgpConfig({ flopsBudget: 0.1 });
    assert.throws(
      () => createAgpController(cfg, { totalSteps: 1000, fullWidths, arch: reference }),
      (e: unknown) => e instanceof ConfigError && /flopsBudget/.test(e.message),
    );
  });

  it('small-dense with widthMultiplier trains at round(full × m) and its FLOPs are counted there', () => {
    const cfg = parseAgpConfig({ schedule: 'small-dense', widthMultiplier: 0.7 });
    const c = createAgpController(cfg, { totalSteps: 100, fullWidths, arch: reference });
    assert.deepEqual(c.initialWidths, {
      'bottom.0': 358,
      'bottom.1': 179,
      'bottom.2': 45,
      'top.0': 358,
      'top.1': 179,
    });
    const t = timelineFlops(reference, c.phases(), 1);
    const expected = stepFlops(reference, c.initialWidths, 1).total * 100;
    assert.equal(t.totalFlops, expected);
    assert.ok(t.totalFlops / t.denseEquivalentFlops < 0.6);
  });
});
