import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  catchUpRows,
  flopsToDenseFinalNe,
  learnedPct,
  pairedSegments,
  type LifecycleSegment,
} from '../../../bench/agp/lifecycle-summary';

function curve(method: string, seed: number, nes: number[], flops0: number, perSeg: number) {
  return nes.map((ne, i): LifecycleSegment => ({
    method,
    seed,
    startRow: i * 100,
    rows: 100,
    progressiveNe: ne,
    cumulativeFlops: flops0 + perSeg * (i + 1),
  }));
}

const segments = [
  ...curve('dense', 1, [0.8, 0.78, 0.76, 0.75], 100, 10),
  ...curve('agp', 1, [0.82, 0.79, 0.76, 0.7499], 60, 10),
  ...curve('dense', 2, [0.81, 0.79, 0.77, 0.76], 100, 10),
  ...curve('agp', 2, [0.83, 0.8, 0.7702, 0.7601], 60, 10),
  ...curve('small-dense', 1, [0.82, 0.8, 0.79, 0.78], 60, 6),
  ...curve('small-dense', 2, [0.83, 0.81, 0.8, 0.79], 60, 6),
];

describe('lifecycle summary', () => {
  it('catch-up: the first segment from which a method stays within 0.05% of dense', () => {
    assert.equal(catchUpRows(segments, 'agp', 1), 200);
    // 0.7702 vs 0.77 is +0.026%: within the tolerance.
    assert.equal(catchUpRows(segments, 'agp', 2), 200);
    assert.equal(catchUpRows(segments, 'small-dense', 1), null);
    assert.equal(catchUpRows(segments, 'dense', 1), 0);
  });

  it('paired differences per segment and after catch-up', () => {
    const rows = pairedSegments(segments, 'agp', ['dense', 'small-dense'], [1, 2]);
    const first = rows.find((r) => r.b === 'dense' && r.segment === 0);
    assert.ok(first !== undefined);
    const expected = (100 * (0.82 - 0.8)) / 0.8 / 2 + (100 * (0.83 - 0.81)) / 0.81 / 2;
    assert.ok(Math.abs(first.meanPct - expected) < 1e-9);
    assert.equal(first.seeds, 2);
    const after = rows.find((r) => r.b === 'small-dense' && r.segment === 'afterCatchUp');
    assert.ok(after !== undefined && after.meanPct < 0);
    assert.ok(after.ci95Pct[1] < 0, 'agp is below small-dense on both seeds after catch-up');
  });

  it("FLOPs to reach dense's NE (and stay within 0.05% of it), as a fraction of dense's lifecycle FLOPs", () => {
    const r = flopsToDenseFinalNe(segments, 'agp', [1, 2]);
    // Both seeds catch up at their 3rd segment: 60 + 3 × 10 = 90 against dense's 140.
    assert.deepEqual(r.perSeed, [90 / 140, 90 / 140]);
    assert.equal(r.ratio, 90 / 140);
    assert.deepEqual(flopsToDenseFinalNe(segments, 'small-dense', [1]).perSeed, [null]);
  });

  it('on a drifting stream an early segment below dense\'s last one is not "reaching dense"', () => {
    // NE rises for both as the teacher moves; agp stays 1% behind dense on every segment.
    const drifting = [
      ...curve('dense', 1, [0.79, 0.81, 0.83, 0.85], 100, 10),
      ...curve('agp', 1, [0.798, 0.818, 0.838, 0.8585], 60, 10),
    ];
    assert.deepEqual(flopsToDenseFinalNe(drifting, 'agp', [1]), { ratio: null, perSeed: [null] });
  });

  it('learned: trained against the frozen model on the same rows, paired over seeds', () => {
    const frozen = [
      ...curve('dense', 1, [0.82, 0.82, 0.84, 0.85], 100, 0),
      ...curve('dense', 2, [0.83, 0.83, 0.85, 0.86], 100, 0),
    ];
    const l = learnedPct(segments, frozen, 'dense', [1, 2]);
    // Seed 1: mean 0.7725 vs 0.8325 → −7.21%; seed 2: 0.7825 vs 0.8425 → −7.12%.
    assert.equal(l.seeds, 2);
    assert.ok(Math.abs(l.meanPct - -7.166) < 0.01, String(l.meanPct));
    assert.ok(l.ci95Pct[0] < l.meanPct && l.meanPct < l.ci95Pct[1]);
  });
});
