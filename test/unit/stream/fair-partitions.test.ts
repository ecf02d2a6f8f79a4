import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPartitionFairness } from '../../../src/stream/fair-partitions';

/** Three partitions at `ends`, positions `positions`. */
function fairness(ends: number[], positions: number[], maxSpread = 100, stallMs = 10_000) {
  const f = createPartitionFairness({ maxSpread, stallMs });
  ends.forEach((end, p) => f.setEnd(p, end));
  positions.forEach((position, p) => f.setPosition(p, position));
  return f;
}

describe('fair partition consumption', () => {
  it('pauses the partitions more than maxSpread ahead of the most lagging one', () => {
    const f = fairness([5000, 300, 310], [0, 290, 300]);
    assert.deepEqual(f.update(0), { pause: [1, 2], resume: [] });
    assert.ok(f.isPaused(1) && f.isPaused(2) && !f.isPaused(0));
    assert.deepEqual(f.lags(), { 0: 5000, 1: 10, 2: 10 });
  });

  it('never pauses anything when the lags are within maxSpread, and never the most lagging', () => {
    assert.deepEqual(fairness([500, 450, 420], [0, 0, 0]).update(0), { pause: [], resume: [] });
    const f = fairness([1000, 1000], [0, 1000]);
    f.update(0);
    assert.deepEqual(f.paused(), [1]);
  });

  it('resumes with hysteresis: once within maxSpread / 2 of the most lagging', () => {
    const f = fairness([1000, 100], [0, 100], 100);
    f.update(0);
    assert.deepEqual(f.paused(), [1]);
    // Lag 1000 → 80: partition 1 (lag 0) is 80 behind the top: inside maxSpread, not yet 50.
    f.setPosition(0, 920);
    assert.deepEqual(f.update(1), { pause: [], resume: [] });
    f.setPosition(0, 960);
    assert.deepEqual(f.update(2), { pause: [], resume: [1] });
    // New events arrive on partition 1 while 0 catches up: it is now the most lagging.
    f.setEnd(1, 400);
    assert.deepEqual(f.update(3), { pause: [0], resume: [] });
  });

  it('lifts every pause while the most lagging partition makes no progress, until it moves', () => {
    const f = fairness([1000, 100], [0, 100], 100, 5_000);
    f.update(0);
    assert.deepEqual(f.paused(), [1]);
    assert.deepEqual(f.update(4_999), { pause: [], resume: [] });
    assert.deepEqual(f.update(5_000), { pause: [], resume: [1] }, 'stalled: released');
    assert.deepEqual(f.update(20_000), { pause: [], resume: [] }, 'still released');
    f.setPosition(0, 10);
    assert.deepEqual(f.update(20_001), { pause: [1], resume: [] }, 'it moves: fair again');
  });

  it('ends only grow (a stale watermark does not shrink a lag); unknown partitions are left alone', () => {
    const f = createPartitionFairness({ maxSpread: 10 });
    f.setEnd(0, 100);
    f.setEnd(0, 50);
    f.setPosition(0, 0);
    f.setEnd(1, 100);
    assert.deepEqual(f.update(0), { pause: [], resume: [] }, 'partition 1 has no position yet');
    assert.deepEqual(f.lags(), { 0: 100 });
  });

  it('refuses settings that cannot work', () => {
    assert.throws(() => createPartitionFairness({ maxSpread: 0 }), /maxSpread > 0/);
    assert.throws(
      () => createPartitionFairness({ maxSpread: 10, resumeSpread: 20 }),
      /resumeSpread ≤ maxSpread/,
    );
  });
});
