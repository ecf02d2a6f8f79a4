import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMicroBatcher } from '../../../src/stream/micro-batcher';

describe('micro-batcher', () => {
  it('emits full batches in order and drains the partial one', () => {
    const b = createMicroBatcher<number>(3);
    const out: number[][] = [];
    for (let i = 0; i < 8; i++) {
      const full = b.push(i);
      if (full) out.push(full);
    }
    assert.deepEqual(out, [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.equal(b.pending, 2);
    assert.deepEqual(b.drain(), [6, 7]);
    assert.equal(b.pending, 0);
    assert.deepEqual(b.drain(), []);
  });

  it('rejects a size that is not a positive integer', () => {
    assert.throws(() => createMicroBatcher(0), /positive integer/);
    assert.throws(() => createMicroBatcher(1.5), /positive integer/);
  });
});
