import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { grow } from '../../../src/agp/grow';
import {
  parsePruneRecord,
  snapshotEntries,
  snapshotFromEntries,
} from '../../../src/agp/prune-record';
import { prune, widthsOf } from '../../../src/agp/surgery';
import type { DenseTowers, TowerSlots } from '../../../src/model/params';
import { createRng } from '../../../src/rng';
import { assertClose, disposeModel, forward, tinyModel, useBackend, values } from './tiny-mlp';

describe('prune and grow surgery', () => {
  before(useBackend);

  // bottom.0 and bottom.1 are consecutive hidden layers: W of bottom.1 loses rows and columns.
  const plan = {
    'bottom.0': Int32Array.from([0, 2, 5]),
    'bottom.1': Int32Array.from([1, 3]),
    'top.0': Int32Array.from([0, 4]),
  };

  type Dump = Record<
    'bottom' | 'top',
    Array<{ w: number[]; b: number[]; sw: number[][]; sb: number[][] }>
  >;
  function dump(towers: DenseTowers, slots: TowerSlots): Dump {
    const d = (t: 'bottom' | 'top') =>
      towers[t].map((l, i) => ({
        w: values(l.w),
        b: values(l.b),
        sw: slots[t][i]?.w.map(values) ?? [],
        sb: slots[t][i]?.b.map(values) ?? [],
      }));
    return { bottom: d('bottom'), top: d('top') };
  }

  /** Rows `ri` × columns `ci` of a row-major [rows, cols] array. */
  function slice(
    m: number[],
    cols: number,
    ri: number[] | null,
    ci: number[] | null,
    rows: number,
  ): number[] {
    const r = ri ?? Array.from({ length: rows }, (_, i) => i);
    const c = ci ?? Array.from({ length: cols }, (_, i) => i);
    return r.flatMap((i) => c.map((j) => m[i * cols + j] ?? NaN));
  }

  function inputs(seed: number) {
    const rng = createRng(seed);
    const x = (n: number) =>
      tf.tensor2d(
        Float32Array.from({ length: 8 * n }, () => rng.normal()),
        [8, n],
      );
    return { xb: x(5), xt: x(7) };
  }

  it('prune slices W columns, b, next rows and every slot consistently (consecutive layers)', () => {
    const start = tf.memory().numTensors;
    const { towers, slots } = tinyModel(createRng(1));
    const before = dump(towers, slots);
    const p = prune(towers, slots, plan);
    assert.deepEqual(widthsOf(p.towers), { 'bottom.0': 3, 'bottom.1': 2, 'top.0': 2 });
    const after = dump(p.towers, p.slots);
    const b1 = before.bottom[1];
    const a1 = after.bottom[1];
    assert.ok(b1 && a1);
    assert.deepEqual(p.towers.bottom[1]?.w.shape, [3, 2]);
    assert.deepEqual(a1.w, slice(b1.w, 4, [0, 2, 5], [1, 3], 6));
    assert.deepEqual(a1.b, [b1.b[1], b1.b[3]]);
    for (let k = 0; k < 2; k++) {
      assert.deepEqual(a1.sw[k], slice(b1.sw[k] ?? [], 4, [0, 2, 5], [1, 3], 6));
      assert.deepEqual(a1.sb[k], [b1.sb[k]?.[1], b1.sb[k]?.[3]]);
    }
    // bottom.2 (the tower's last layer) loses rows only; its bias and bias slots are untouched
    assert.deepEqual(after.bottom[2]?.w, slice(before.bottom[2]?.w ?? [], 3, [1, 3], null, 4));
    assert.deepEqual(after.bottom[2]?.b, before.bottom[2]?.b);
    assert.deepEqual(
      after.bottom[2]?.sw[1],
      slice(before.bottom[2]?.sw[1] ?? [], 3, [1, 3], null, 4),
    );
    assert.deepEqual(after.top[0]?.w, slice(before.top[0]?.w ?? [], 5, null, [0, 4], 7));
    assert.deepEqual(after.top[1]?.w, slice(before.top[1]?.w ?? [], 1, [0, 4], null, 5));
    assert.deepEqual(p.record.layers['bottom.1']?.kept, [1, 3]);
    disposeModel(p.towers, p.slots);
    assert.equal(tf.memory().numTensors, start);
  });

  it('prune then restore growth gives back exactly the same weights and optimizer slots', () => {
    const start = tf.memory().numTensors;
    const { towers, slots } = tinyModel(createRng(2));
    const before = dump(towers, slots);
    const p = prune(towers, slots, plan, { keepSnapshot: true });
    assert.ok(p.snapshot);
    const g = grow(p.towers, p.slots, p.record, 'restore', createRng(3), { snapshot: p.snapshot });
    const after = dump(g.towers, g.slots);
    for (const t of ['bottom', 'top'] as const) {
      after[t].forEach((l, i) => {
        assert.deepEqual(l.w, before[t][i]?.w, `${t}.${i}.w`);
        assert.deepEqual(l.b, before[t][i]?.b, `${t}.${i}.b`);
      });
    }
    // The optimizer slots come back too (restore = the neuron returns exactly as it left).
    for (const t of ['bottom', 'top'] as const) {
      after[t].forEach((l, i) => {
        assert.deepEqual(l.sw, before[t][i]?.sw, `${t}.${i} weight slots`);
        assert.deepEqual(l.sb, before[t][i]?.sb, `${t}.${i} bias slots`);
      });
    }
    assert.deepEqual(after.bottom[2]?.sb[0], before.bottom[2]?.sb[0]);
    disposeModel(g.towers, g.slots);
    assert.equal(tf.memory().numTensors, start, 'no tensor leaked through prune + snapshot + grow');
  });

  for (const policy of ['zero-out', 'split'] as const) {
    it(`${policy} growth leaves the outputs of both towers unchanged`, () => {
      const start = tf.memory().numTensors;
      const { towers, slots } = tinyModel(createRng(4));
      const { xb, xt } = inputs(5);
      const full = [forward(towers.bottom, xb), forward(towers.top, xt)];
      const p = prune(towers, slots, plan, {
        importance: {
          'bottom.0': Float32Array.from([1, 9, 0, 9, 9, 3]),
          'bottom.1': Float32Array.from([1, 1, 1, 1]),
          'top.0': Float32Array.from([0, 0, 0, 0, 0]),
        },
      });
      assert.deepEqual(p.record.layers['bottom.0']?.importance, [1, 0, 3]);
      const pruned = [forward(p.towers.bottom, xb), forward(p.towers.top, xt)];
      const g = grow(p.towers, p.slots, p.record, policy, createRng(6), { splitNoise: 0 });
      assert.deepEqual(widthsOf(g.towers), { 'bottom.0': 6, 'bottom.1': 4, 'top.0': 5 });
      assertClose(forward(g.towers.bottom, xb), pruned[0] ?? []);
      assertClose(forward(g.towers.top, xt), pruned[1] ?? []);
      // the pruned model really differs from the full one, so the check above can fail
      assert.ok(Math.abs((pruned[0]?.[0] ?? 0) - (full[0]?.[0] ?? 0)) > 1e-3);
      const w0 = values(g.towers.bottom[0]?.w as tf.Tensor);
      const w1 = values(g.towers.bottom[1]?.w as tf.Tensor);
      const col = (m: number[], cols: number, j: number) => m.filter((_, i) => i % cols === j);
      if (policy === 'zero-out') {
        assert.ok(
          col(w0, 6, 1).some((v) => v !== 0),
          'fresh incoming weights',
        );
        // regrown bottom.0 neuron 1 feeds nothing that exists downstream: its row in W of bottom.1
        // is 0 towards the kept bottom.1 neurons 1 and 3 (the regrown 0 and 2 have zero outgoing rows)
        assert.deepEqual([w1[5], w1[7]], [0, 0]);
        const w2 = values(g.towers.bottom[2]?.w as tf.Tensor);
        assert.deepEqual(
          [0, 2].flatMap((r) => w2.slice(r * 3, r * 3 + 3)),
          [0, 0, 0, 0, 0, 0],
        );
        const topOut = values(g.towers.top[1]?.w as tf.Tensor);
        assert.deepEqual([topOut[1], topOut[2], topOut[3]], [0, 0, 0]);
      } else {
        // importance 0 for kept neuron 2 (original index 2): every copy is of neuron 0 or 5
        for (const j of [1, 3, 4]) {
          const c = col(w0, 6, j);
          assert.ok(
            [0, 5].some((s) => col(w0, 6, s).every((v, r) => v === c[r])),
            `neuron ${j} copies 0 or 5`,
          );
        }
      }
      xb.dispose();
      xt.dispose();
      disposeModel(g.towers, g.slots);
      assert.equal(tf.memory().numTensors, start);
    });
  }

  it('split with noise stays close but not identical; random growth changes the function', () => {
    const { towers, slots } = tinyModel(createRng(7));
    const { xb, xt } = inputs(8);
    const p = prune(towers, slots, plan);
    const pruned = forward(p.towers.bottom, xb);
    const g = grow(p.towers, p.slots, p.record, 'split', createRng(9), { splitNoise: 0.01 });
    const noisy = forward(g.towers.bottom, xb);
    assertClose(noisy, pruned, 0.1);
    assert.ok(
      noisy.some((v, i) => Math.abs(v - (pruned[i] ?? 0)) > 1e-6),
      'noise changes the output a little',
    );
    const q = prune(g.towers, g.slots, plan);
    const compact = forward(q.towers.top, xt);
    const r = grow(q.towers, q.slots, q.record, 'random', createRng(10));
    assert.ok(forward(r.towers.top, xt).some((v, i) => Math.abs(v - (compact[i] ?? 0)) > 1e-3));
    xb.dispose();
    xt.dispose();
    disposeModel(r.towers, r.slots);
  });

  it('ramped prunes compose; the record and snapshot survive a checkpoint round trip', () => {
    const start = tf.memory().numTensors;
    const { towers, slots } = tinyModel(createRng(11));
    const before = dump(towers, slots);
    const first = prune(
      towers,
      slots,
      { 'bottom.0': Int32Array.from([0, 1, 2, 5]) },
      { keepSnapshot: true },
    );
    // second event: keep current indices 1 and 3 of bottom.0 (original 1 and 5), and prune top.0
    const second = prune(
      first.towers,
      first.slots,
      { 'bottom.0': Int32Array.from([1, 3]), 'top.0': Int32Array.from([2]) },
      {
        record: first.record,
        keepSnapshot: true,
        ...(first.snapshot ? { snapshot: first.snapshot } : {}),
      },
    );
    assert.deepEqual(second.record.layers['bottom.0']?.kept, [1, 5]);
    assert.deepEqual(second.record.layers['top.0']?.kept, [2]);
    // checkpoint: the record as JSON, the snapshot as named tensors (re-created, as a loader would)
    const record = parsePruneRecord(JSON.parse(JSON.stringify(second.record)));
    const entries = snapshotEntries(second.snapshot ?? {}).map(({ name, tensor }) => {
      const copy = tf.tensor(tensor.dataSync(), tensor.shape);
      tensor.dispose();
      return { name, tensor: copy };
    });
    const g = grow(second.towers, second.slots, record, 'restore', createRng(12), {
      snapshot: snapshotFromEntries(entries),
    });
    const after = dump(g.towers, g.slots);
    for (const t of ['bottom', 'top'] as const) {
      after[t].forEach((l, i) => assert.deepEqual([l.w, l.b], [before[t][i]?.w, before[t][i]?.b]));
    }
    disposeModel(g.towers, g.slots);
    assert.equal(tf.memory().numTensors, start);
  });

  it('bad plans, records and missing snapshots are clear errors and leave the model intact', () => {
    const { towers, slots } = tinyModel(createRng(13));
    assert.throws(
      () => prune(towers, slots, { 'bottom.2': Int32Array.from([0]) }),
      /bottom\.2 is not a hidden layer/,
    );
    assert.throws(
      () => prune(towers, slots, { 'top.0': Int32Array.from([3, 1]) }),
      /top\.0 must be sorted/,
    );
    assert.throws(() => prune(towers, slots, { 'top.0': Int32Array.from([5]) }), /0\.\.4/);
    assert.throws(() => prune(towers, slots, { 'top.0': new Int32Array(0) }), /non-empty/);
    const p = prune(towers, slots, plan);
    assert.throws(
      () => grow(p.towers, p.slots, p.record, 'restore', createRng(1)),
      /restore growth needs the pre-prune weights of bottom\.0/,
    );
    assert.deepEqual(
      widthsOf(p.towers),
      { 'bottom.0': 3, 'bottom.1': 2, 'top.0': 2 },
      'still usable',
    );
    const wrong = {
      v: 1 as const,
      layers: { 'top.0': { fullWidth: 5, kept: [0, 1, 4], importance: [1, 1, 1] } },
    };
    assert.throws(
      () => grow(p.towers, p.slots, wrong, 'zero-out', createRng(1)),
      /top\.0 is \[7, 2\] but the prune record expects \[7, 3\]/,
    );
    assert.throws(
      () =>
        parsePruneRecord({
          v: 1,
          layers: { 'top.0': { fullWidth: 5, kept: [3, 1], importance: [1, 1] } },
        }),
      /inconsistent/,
    );
    disposeModel(p.towers, p.slots);
  });
});
