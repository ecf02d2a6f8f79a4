import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRowSlots } from '../../../src/model/row-slots';

/** The reference numbering: a Map from row to slot, slots in order of first occurrence. */
function reference(rows: readonly number[]): { slot: number[]; distinct: number[] } {
  const slotOf = new Map<number, number>();
  const slot = rows.map((r) => {
    if (!slotOf.has(r)) slotOf.set(r, slotOf.size);
    return slotOf.get(r) as number;
  });
  return { slot, distinct: [...slotOf.keys()] };
}

describe('row slots (the row-wise Adagrad dedupe)', () => {
  it('numbers a strided column’s rows by first occurrence, as a Map would', () => {
    const slots = createRowSlots();
    // Two tables interleaved ([B, 2] row-major); table 1 is read with first 1, stride 2.
    const sparse = Int32Array.from([5, 0, 7, 0, 5, 3, 9, 0, 7, 3, 0, 12]);
    const distinct = slots.assign(sparse, 1, 2, 6);
    const want = reference([0, 0, 3, 0, 3, 12]);
    assert.equal(distinct, want.distinct.length);
    assert.deepEqual([...slots.slot.subarray(0, 6)], want.slot);
    assert.deepEqual([...slots.rows.subarray(0, distinct)], want.distinct);
  });

  it('agrees with a Map on many random batches, reusing and growing its buffers', () => {
    const slots = createRowSlots();
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (const [count, range] of [
      [1, 3],
      [128, 50],
      [2048, 100_000],
      [64, 1 << 30],
      [2048, 7],
    ] as const) {
      const sparse = Int32Array.from({ length: count }, () => next(range));
      const distinct = slots.assign(sparse, 0, 1, count);
      const want = reference([...sparse]);
      assert.equal(distinct, want.distinct.length, `count ${count}, range ${range}`);
      assert.deepEqual([...slots.slot.subarray(0, count)], want.slot);
      assert.deepEqual([...slots.rows.subarray(0, distinct)], want.distinct);
    }
  });
});
