import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BURST_RANGE, plantScenario, worstRegression } from '../../../bench/gate/scenario';
import type { RawRow } from '../../../src/stream/replay';

const rows: RawRow[] = Array.from({ length: 2000 }, (_, i) => ({
  label: (i % 3 === 0 ? 1 : 0) as 0 | 1,
  dense: { d0: i },
  sparse: { s0: `v${i % 7}` },
}));

describe('bench:gate scenarios', () => {
  it('plants a seeded burst of 50–500 consecutive flipped labels, the same for the same seed', () => {
    const a = plantScenario('burst', 5, rows);
    const b = plantScenario('burst', 5, rows);
    assert.deepEqual([...a.harmful], [...b.harmful]);
    assert.ok(a.burst >= BURST_RANGE[0] && a.burst <= BURST_RANGE[1]);
    const positions = [...a.harmful].sort((x, y) => x - y);
    assert.equal(positions.length, a.burst);
    assert.equal((positions.at(-1) ?? 0) - (positions[0] ?? 0) + 1, a.burst, 'consecutive');
    for (const p of positions) assert.equal(a.rows[p]?.label, 1 - (rows[p]?.label ?? 0));
    // Everything else untouched; the input is not modified.
    const untouched = a.rows.filter((r, i) => !a.harmful.has(i) && r.label !== rows[i]?.label);
    assert.deepEqual(untouched, []);
    assert.notDeepEqual([...plantScenario('burst', 6, rows).harmful], [...a.harmful]);
  });

  it('plants one extreme event, and nothing in a clean stream', () => {
    const x = plantScenario('extreme', 3, rows);
    assert.equal(x.harmful.size, 1);
    const at = [...x.harmful][0] as number;
    assert.deepEqual(x.rows[at]?.dense, { d0: 1e308 });
    assert.equal(x.rows[at]?.label, 1);
    assert.equal(plantScenario('clean', 3, rows).harmful.size, 0);
  });

  it('measures the worst excess of a served version over the best served before it', () => {
    assert.equal(worstRegression([1]), 0);
    // 0.9 is the best so far when 0.918 is served: 2% worse.
    assert.ok(Math.abs(worstRegression([1, 0.9, 0.918, 0.95]) - (0.95 - 0.9) / 0.9) < 1e-12);
    assert.equal(worstRegression([1, 0.99, 0.98]), 0, 'improving all along');
  });
});
