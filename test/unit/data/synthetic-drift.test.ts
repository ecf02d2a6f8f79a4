import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ColumnarBatch } from '../../../src/data/batch';
import { generateBlock } from '../../../src/data/synthetic/generator';
import { createSyntheticSource } from '../../../src/data/synthetic/source';
import { getTeacher } from '../../../src/data/synthetic/teacher';
import { ConfigError } from '../../../src/errors';

// A small teacher keeps these tests fast.
const small = { teacherHidden: [64, 32], rows: 12_000, seed: 3 };

async function all(src: { batches(o: { batchSize: number }): AsyncIterable<ColumnarBatch> }) {
  const dense: number[] = [];
  const sparse: number[] = [];
  const labels: number[] = [];
  for await (const b of src.batches({ batchSize: 1000 })) {
    dense.push(...b.dense);
    sparse.push(...b.sparse);
    labels.push(...b.labels);
  }
  return { dense, sparse, labels };
}

/** Strong drift, so a few thousand rows show every mechanism. */
const strong = {
  startRow: 5000,
  rotationPer100k: 60,
  newValuesPer100k: 2000,
  componentAfterRows: 3000,
  componentShare: 0.5,
  baseRateShiftPer100k: 20,
};

describe('synthetic drift', () => {
  it('leaves every row before startRow bit-identical, and all rows without drift', async () => {
    const plain = createSyntheticSource(small);
    const drifting = createSyntheticSource({ ...small, drift: strong });
    const a = await all(plain);
    const b = await all(drifting);
    const cut = strong.startRow;
    assert.deepEqual(b.labels.slice(0, cut), a.labels.slice(0, cut));
    assert.deepEqual(b.sparse.slice(0, cut * 26), a.sparse.slice(0, cut * 26));
    assert.deepEqual(
      drifting.trueProbabilities({ rows: cut }),
      plain.trueProbabilities({ rows: cut }),
    );
    // Dense features are drawn as before everywhere (drift changes their meaning, not them).
    assert.deepEqual(b.dense, a.dense);
    assert.notDeepEqual(b.labels.slice(cut), a.labels.slice(cut));
    // Undrifted source equal to a source whose drift starts past its end.
    const late = await all(createSyntheticSource({ ...small, drift: { startRow: 1e9 } }));
    assert.deepEqual(late, a);
  });

  it('is deterministic by seed', async () => {
    const a = await all(createSyntheticSource({ ...small, drift: strong }));
    const b = await all(createSyntheticSource({ ...small, drift: strong }));
    assert.deepEqual(a, b);
    const c = await all(createSyntheticSource({ ...small, seed: 4, drift: strong }));
    assert.notDeepEqual(a.labels, c.labels);
  });

  it('brings new categorical values into the head, shifts the base rate, changes the teacher', () => {
    const plain = createSyntheticSource(small);
    const drifting = createSyntheticSource({ ...small, drift: strong });
    const p0 = plain.trueProbabilities({ startRow: 9000, rows: 3000 });
    const p1 = drifting.trueProbabilities({ startRow: 9000, rows: 3000 });
    const mean = (p: Float32Array) => p.reduce((s, x) => s + x, 0) / p.length;
    // +20 logit per 100k over 4k–7k rows past the start: ~+0.9 logit, so a clearly higher rate.
    assert.ok(mean(p1) > mean(p0) + 0.08, `${mean(p1)} vs ${mean(p0)}`);
    const segs = drifting.bayesBySegment(4000);
    assert.deepEqual(
      segs.map((s) => [s.startRow, s.rows]),
      [
        [0, 4000],
        [4000, 4000],
        [8000, 4000],
      ],
    );
    for (const s of segs) assert.ok(s.ne > 0 && s.ne < 1, `segment NE ${s.ne}`);
  });

  it('emits ids beyond the offline cardinalities after the start only', () => {
    const src = createSyntheticSource({ ...small, drift: strong });
    const cards = src.config.cardinalities;
    let before = 0;
    let after = 0;
    // Raw ids (before the spec hashes them) tell new values from old ones.
    for (let blk = 0; blk < 6; blk++) {
      const { raw } = generateBlock(getTeacher(src.config), src.config, blk);
      for (let r = 0; r < raw.size; r++) {
        const isNew = raw.sparse.some((col, j) => (col[r] as number) >= (cards[j] as number));
        if (!isNew) continue;
        if (blk * 2048 + r < strong.startRow) before++;
        else after++;
      }
    }
    assert.equal(before, 0);
    assert.ok(after > 500, `${after} rows with new values`);
  });

  it('refuses a bad segment size naming it', () => {
    const src = createSyntheticSource(small);
    assert.throws(() => src.bayesBySegment(0), ConfigError);
    assert.throws(
      () => createSyntheticSource({ ...small, drift: { startRow: -1 } }),
      /drift.startRow/,
    );
  });
});
