import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelVersion } from '../../../schemas/manifest';
import { SlidingWindowMetrics } from '../../../src/metrics/sliding-window';
import { GATE_STD_ERRS, judgeVersion } from '../../../src/pipeline/publish-gate';

const good = { version: ModelVersion.parse('v000002'), metrics: { ne: 0.9, calibration: 1.01 } };
const tolerances = { ne: 0.03, calibration: 0.15 };

describe('publish gate', () => {
  it('holds a regression past the tolerance and names it', () => {
    const verdict = judgeVersion({ ne: 0.95, calibration: 1.0 }, good, tolerances);
    assert.equal(verdict.held, true);
    assert.match(verdict.reasons[0] ?? '', /NE 0\.95000 > 0\.90000 × \(1 \+ 0\.03\) of v000002/);
    assert.equal(verdict.comparedWith, 'v000002');
  });

  it('passes the same NE when its standard error says it may be noise', () => {
    // 0.95 is 0.023 above 0.927 (= 0.9 × 1.03): held at a standard error of 0.01, not of 0.02.
    assert.equal(judgeVersion({ ne: 0.95, neStdErr: 0.01 }, good, tolerances).held, true);
    assert.equal(judgeVersion({ ne: 0.95, neStdErr: 0.02 }, good, tolerances).held, false);
    assert.equal(GATE_STD_ERRS, 2);
  });

  it("adds the parent's standard error to the candidate's", () => {
    // Margin 2 × √(0.008² + 0.006²) = 0.02: 0.95 is 0.023 above 0.927, held; 0.945 passes.
    const noisyParent = { ...good, metrics: { ...good.metrics, neStdErr: 0.006 } };
    assert.equal(judgeVersion({ ne: 0.95, neStdErr: 0.008 }, noisyParent, tolerances).held, true);
    assert.equal(judgeVersion({ ne: 0.945, neStdErr: 0.008 }, noisyParent, tolerances).held, false);
    assert.equal(judgeVersion({ ne: 0.945, neStdErr: 0.008 }, good, tolerances).held, true);
  });

  it('holds calibration drift beyond its noise, not within it', () => {
    // Drift 0.29 − 0.01 = 0.28: past 0.15 + 2 × 0.05 = 0.25, not past 0.15 + 2 × 0.08 = 0.31.
    assert.equal(
      judgeVersion({ ne: 0.9, calibration: 1.29, calibrationStdErr: 0.05 }, good, tolerances).held,
      true,
    );
    assert.equal(
      judgeVersion({ ne: 0.9, calibration: 1.29, calibrationStdErr: 0.08 }, good, tolerances).held,
      false,
    );
  });

  it('holds calibration drift and passes when there is no baseline', () => {
    assert.equal(judgeVersion({ ne: 0.9, calibration: 1.3 }, good, tolerances).held, true);
    assert.equal(judgeVersion({ ne: 5, calibration: 3 }, null, tolerances).held, false);
  });

  it('gets the standard error of NE from the sliding window', () => {
    const small = new SlidingWindowMetrics(1000);
    const large = new SlidingWindowMetrics(100_000);
    for (const w of [small, large]) {
      const n = w === small ? 800 : 80_000;
      const preds = Float32Array.from(
        { length: n },
        (_, i) => 0.2 + (0.6 * ((i * 7919) % 97)) / 97,
      );
      const labels = Float32Array.from({ length: n }, (_, i) => ((i * 104729) % 3 === 0 ? 1 : 0));
      w.push(preds, labels);
    }
    const a = small.snapshot().neStdErr;
    const b = large.snapshot().neStdErr;
    assert.ok(a > 0 && b > 0);
    // 100× the events: a tenth of the standard error.
    assert.ok(Math.abs(a / b - 10) < 1, `${a} / ${b}`);
  });
});
