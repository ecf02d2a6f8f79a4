import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeLag,
  countBetween,
  createOffsetTracker,
  parseOffset,
} from '../../../src/stream/offsets';
import { normalizeOffsets } from '../../../src/stream/recurring-trainer';

describe('offsets', () => {
  it('tracks the next offset, ignores redeliveries, allows forward gaps', () => {
    const t = createOffsetTracker({ a: { '0': 5 } });
    assert.equal(t.advance('a', 0, 4), false, 'below the start: already in the checkpoint');
    assert.equal(t.advance('a', 0, 5), true);
    assert.equal(t.advance('a', 0, 5), false, 'redelivery');
    assert.equal(t.advance('a', 0, 9), true, 'gap (compaction / txn marker)');
    assert.equal(t.position('a', 0), 10);
    assert.equal(t.advance('a', 1, 0), true);
    assert.deepEqual(t.snapshot(), { a: { '0': 10, '1': 1 } });
  });

  it('snapshots are copies', () => {
    const start = { a: { '0': 1 } };
    const t = createOffsetTracker(start);
    const snap = t.snapshot();
    t.advance('a', 0, 1);
    assert.deepEqual(snap, { a: { '0': 1 } });
    assert.deepEqual(start, { a: { '0': 1 } });
  });

  it('counts events between two offset maps and the lag', () => {
    const from = { a: { '0': 10, '1': 0 } };
    const to = { a: { '0': 15, '1': 3, '2': 7 } };
    assert.equal(countBetween(from, to), 5 + 3 + 7);
    assert.equal(countBetween(from, to, { a: { '2': 4 } }), 5 + 3 + 3);
    const lag = computeLag({ a: { '0': 20, '1': 3, '2': 9 } }, to, {});
    assert.equal(lag.total, 5 + 0 + 2);
    assert.deepEqual(lag.byPartition, { a: { '0': 5, '1': 0, '2': 2 } });
    assert.equal(computeLag({ a: { '0': 8 } }, {}, { a: { '0': 3 } }).total, 5);
  });

  it('parses Kafka offsets strictly', () => {
    assert.equal(parseOffset('42'), 42);
    assert.throws(() => parseOffset('-1'), /invalid Kafka offset/);
    assert.throws(() => parseOffset('x'), /invalid Kafka offset/);
    assert.throws(() => parseOffset('99999999999999999999'), /invalid Kafka offset/);
    assert.deepEqual(normalizeOffsets({ t: { '0': '12', '1': 3 } }), { t: { '0': 12, '1': 3 } });
  });
});
