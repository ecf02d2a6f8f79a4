import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelVersion } from '../../../schemas/manifest';
import { SlidingWindowMetrics } from '../../../src/metrics/sliding-window';
import {
  GATE_STD_ERRS,
  judgeVersion,
  leastCalibrationDrift,
  MIN_HELD_BACK_EVENTS,
  pairedRegressionTest,
} from '../../../src/pipeline/publish-gate';
import { createRng } from '../../../src/rng';

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

describe('publish gate on the held-back slice', () => {
  const slice = (
    candidateNe: number,
    diffStdErr: number,
    count = 500,
    calibration = 1,
    role: 'served' | 'offline' = 'served',
    version = 'v000001',
  ) => ({
    version: ModelVersion.parse(version),
    role,
    count,
    candidateNe,
    baselineNe: 0.9,
    diff: candidateNe - 0.9,
    diffStdErr,
    candidateCalibration: calibration,
    baselineCalibration: 1.02,
    labelMeanRelStdErr: 0.05,
  });
  const paired = { ...tolerances, heldBackNe: 0.01, falseAlarmRate: 0.01 };

  it('holds a candidate significantly worse than its parent on the same held-back events', () => {
    // Allowed at α = 0.01: 0.01 × 0.9 + 2.326 × 0.005 = 0.0206 above 0.9.
    const verdict = judgeVersion({}, null, paired, [slice(0.922, 0.005)]);
    assert.equal(verdict.held, true);
    assert.match(
      verdict.reasons[0] ?? '',
      /on 500 held-back events vs 0\.90000 of v000001 \(the served version\)/,
    );
    assert.match(verdict.reasons[0] ?? '', /z = 2\.60 > 2\.33/);
    assert.equal(verdict.comparedWith, 'v000001');
    assert.deepEqual(verdict.judgedOn, ['v000001']);
    assert.equal(verdict.heldBackEvents, 500);
    assert.equal(judgeVersion({}, null, paired, [slice(0.919, 0.005)]).held, false);
    assert.equal(judgeVersion({}, null, paired, [slice(0.922, 0.01)]).held, false, 'noise');
  });

  it('compares with the offline root too, splitting the false-alarm rate between references', () => {
    // Better than the parent, but 3% worse than the offline version the chain started from.
    const verdict = judgeVersion({}, null, paired, [
      slice(0.9, 0.004),
      slice(0.927, 0.004, 500, 1, 'offline', 'v000000'),
    ]);
    assert.equal(verdict.held, true);
    assert.equal(verdict.reasons.length, 1);
    assert.match(verdict.reasons[0] ?? '', /v000000 \(the offline version\)/);
    // Two references: each at α/2, so the critical value is Φ⁻¹(0.995) = 2.58.
    assert.match(verdict.reasons[0] ?? '', /> 2\.58 /);
    // z = (0.0200 − 0.009) / 0.0045 = 2.44: held with one reference, not with two.
    assert.equal(judgeVersion({}, null, paired, [slice(0.92, 0.0045)]).held, true);
    assert.equal(
      judgeVersion({}, null, paired, [
        slice(0.92, 0.0045),
        slice(0.9, 0.0045, 500, 1, 'offline', 'v000000'),
      ]).held,
      false,
    );
  });

  it('the paired test holds a clean candidate at about the stated false-alarm rate', () => {
    // A candidate exactly at the tolerance: its observed excess is the noise alone.
    const rng = createRng(7);
    let held = 0;
    const trials = 20_000;
    for (let t = 0; t < trials; t++) {
      const z = rng.normal();
      const s = { ...slice(0.9 * 1.01 + z * 0.005, 0.005) };
      if (pairedRegressionTest(s, 0.01, 0.01).failed) held++;
    }
    assert.ok(Math.abs(held / trials - 0.01) < 0.003, `${held} of ${trials}`);
  });

  it('holds calibration drift on the held-back events beyond tolerance and noise', () => {
    // Against 1.02 with the click rate ±10%: 0.6 drifts at least |0.6/0.9 − 1| − |1.02/0.9 − 1|
    // ≈ 0.20 > 0.15 (held); 0.7 at least ≈ 0.10 (passes).
    const verdict = judgeVersion({}, null, paired, [slice(0.9, 0.005, 500, 0.6)]);
    assert.equal(verdict.held, true);
    assert.match(verdict.reasons[0] ?? '', /calibration 0\.6000 on 500 held-back events/);
    assert.equal(judgeVersion({}, null, paired, [slice(0.9, 0.005, 500, 0.7)]).held, false);
  });

  it('takes the least drift over the plausible click rates', () => {
    assert.ok(Math.abs(leastCalibrationDrift(1.5, 1.0, 0) - 0.5) < 1e-12);
    // A rate 20% higher makes the candidate 1.25 and the baseline 0.833: drift 0.083.
    assert.ok(Math.abs(leastCalibrationDrift(1.5, 1.0, 0.2) - (0.25 - 1 / 6)) < 1e-12);
    // Where the candidate itself crosses 1 inside the interval, its drift is least there.
    // (f = 1.05: 0 − |0.5/1.05 − 1|, below both ends' −0.278 and −0.5).
    assert.ok(Math.abs(leastCalibrationDrift(1.05, 0.5, 0.1) - (0.5 / 1.05 - 1)) < 1e-12);
  });

  it('does not judge by fewer held-back events than the minimum', () => {
    assert.equal(judgeVersion({}, null, paired, [slice(2, 0.001, 99)]).held, false);
    assert.equal(MIN_HELD_BACK_EVENTS, 100);
  });
});
