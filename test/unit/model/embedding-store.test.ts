import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { EmbeddingOptimizerConfig } from '../../../schemas/model-config';
import { DataError } from '../../../src/errors';
import { initBackend } from '../../../src/model/backend';
import { createEmbeddingStore } from '../../../src/model/embedding-store';
import { createRng } from '../../../src/rng';
import { assertClose } from './helpers';

const D = 2;

/** Two tables (4 and 3 rows) whose row r of table f holds [10f + r, −(10f + r)]. */
function store(kind: 'sgd' | 'rowwise-adagrad', lr = 0.5) {
  const tables = [4, 3].map((rows, f) =>
    Float32Array.from(
      { length: rows * D },
      (_, i) => (i % 2 === 0 ? 1 : -1) * (10 * f + Math.floor(i / 2)),
    ),
  );
  return createEmbeddingStore({
    tableSizes: [4, 3],
    dim: D,
    optimizer: EmbeddingOptimizerConfig.parse({ kind, lr, eps: 1e-8 }),
    tables,
  });
}

describe('embedding store', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('gathers the batch rows into [B, F, D]', () => {
    const s = store('sgd');
    const slab = s.gather(Int32Array.from([3, 0, 1, 2]), 2);
    assert.deepEqual(slab.shape, [2, 2, D]);
    assertClose(slab.dataSync(), [3, -3, 10, -10, 1, -1, 12, -12]);
    slab.dispose();
  });

  it('rejects an index outside its table, naming batch row and table', () => {
    const s = store('sgd');
    assert.throws(
      () => s.gather(Int32Array.from([0, 0, 1, 3]), 2),
      (e: unknown) => {
        return e instanceof DataError && /batch row 1, table 1: index 3/.test(e.message);
      },
    );
    assert.throws(() => s.gather(Int32Array.from([0, 0, 1]), 2), DataError);
  });

  it('SGD updates only the batch rows, summing the gradients of duplicate rows', () => {
    const s = store('sgd', 0.5);
    const before0 = Float32Array.from(s.tables[0] as Float32Array);
    const before1 = Float32Array.from(s.tables[1] as Float32Array);
    // Batch of 3: table 0 rows [2, 2, 0], table 1 rows [1, 1, 1].
    const sparse = Int32Array.from([2, 1, 2, 1, 0, 1]);
    const grad = Float32Array.from([1, 2, 10, 20, 3, 4, 30, 40, 5, 6, 50, 60]);
    s.applyGradients(sparse, grad);
    const t0 = s.tables[0] as Float32Array;
    const t1 = s.tables[1] as Float32Array;
    // table 0: row 2 gets (1+3, 2+4), row 0 gets (5, 6); rows 1 and 3 untouched.
    assertClose(t0, [0 - 2.5, 0 - 3, 1, -1, 2 - 2, -2 - 3, 3, -3]);
    // table 1: row 1 gets (10+30+50, 20+40+60); rows 0 and 2 untouched.
    assertClose(t1, [10, -10, 11 - 45, -11 - 60, 12, -12]);
    assert.equal(t0[2], before0[2]);
    assert.equal(t1[4], before1[4]);
  });

  it('row-wise Adagrad keeps one accumulator per row: acc += mean(g²), step lr/√acc', () => {
    const s = store('rowwise-adagrad', 0.5);
    const sparse = Int32Array.from([1, 0, 1, 2]); // table 0: row 1 twice; table 1: rows 0, 2
    const grad = Float32Array.from([1, 1, 3, 4, 2, 3, 0, 0]);
    s.applyGradients(sparse, grad);
    const acc0 = s.accumulators?.[0] as Float32Array;
    const acc1 = s.accumulators?.[1] as Float32Array;
    // table 0 row 1: g = (3, 4): acc = (9 + 16)/2 = 12.5
    assertClose(acc0, [0, 12.5, 0, 0]);
    const step = 0.5 / Math.sqrt(12.5);
    assertClose((s.tables[0] as Float32Array).subarray(2, 4), [1 - 3 * step, -1 - 4 * step]);
    // table 1: row 0 gets g = (3, 4); row 2 gets a zero gradient, so its accumulator stays 0.
    assertClose(acc1, [12.5, 0, 0]);
    assertClose((s.tables[1] as Float32Array).subarray(4, 6), [12, -12]);
    // A second identical step accumulates: acc = 25, step = 0.5/5.
    const row1 = Float32Array.from((s.tables[0] as Float32Array).subarray(2, 4));
    s.applyGradients(sparse, grad);
    assertClose(acc0, [0, 25, 0, 0]);
    assertClose((s.tables[0] as Float32Array).subarray(2, 4), [
      (row1[0] as number) - 0.3,
      (row1[1] as number) - 0.4,
    ]);
  });

  it('initialises rows U(−1/√rows, 1/√rows) deterministically from the rng', () => {
    const make = () =>
      createEmbeddingStore({
        tableSizes: [100],
        dim: 4,
        optimizer: EmbeddingOptimizerConfig.parse({}),
        rng: createRng(9),
      });
    const a = make().tables[0] as Float32Array;
    assert.deepEqual(a, make().tables[0]);
    assert.ok(a.every((v) => Math.abs(v) <= 0.1));
    assert.ok(Math.max(...a) > 0.08 && Math.min(...a) < -0.08);
    assert.equal(tf.memory().numTensors, 0);
  });
});
