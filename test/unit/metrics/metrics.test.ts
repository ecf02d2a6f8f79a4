import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auc } from '../../../src/metrics/auc';
import { calibration } from '../../../src/metrics/calibration';
import { evaluateBinary } from '../../../src/metrics/evaluate';
import { logLoss, normalizedEntropy } from '../../../src/metrics/log-loss';
import { pairedComparison } from '../../../src/metrics/paired-comparison';
import { SlidingWindowMetrics } from '../../../src/metrics/sliding-window';
import { createRng } from '../../../src/rng';

function close(actual: number, expected: number, tol = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

function bruteForceAuc(p: number[], y: number[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    for (let j = 0; j < p.length; j++) {
      if (y[i] === 1 && y[j] === 0) {
        n++;
        s += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
      }
    }
  }
  return s / n;
}

describe('log loss and NE', () => {
  it('matches hand-computed values', () => {
    // -(ln 0.9 + ln 0.8) / 2
    close(logLoss([0.9, 0.2], [1, 0]), 0.164252033486018);
    // base rate 1/2: entropy ln 2
    close(normalizedEntropy([0.9, 0.2], [1, 0]), 0.164252033486018 / Math.LN2);
    // base rate 1/4: H = -(0.25 ln 0.25 + 0.75 ln 0.75) = 0.562335144618808
    const p = [0.25, 0.25, 0.25, 0.25];
    close(normalizedEntropy(p, [1, 0, 0, 0]), 1);
    close(
      logLoss([0.5, 0.6, 0.1, 0.3], [1, 0, 0, 1]),
      (Math.LN2 - Math.log(0.4) - Math.log(0.9) - Math.log(0.3)) / 4,
    );
  });

  it('normalizes by the training base rate (He et al. 2014), the test-rate variant apart', () => {
    // Test rate 1/4, training rate 1/2: a model predicting the test rate exactly has
    // log loss H(1/4) = 0.5623; standard NE = H(1/4) / H(1/2) = 0.8113, test-rate NE = 1.
    const p = [0.25, 0.25, 0.25, 0.25];
    const y = [1, 0, 0, 0];
    const h4 = 0.562335144618808;
    close(normalizedEntropy(p, y, 0.5), h4 / Math.LN2);
    const m = evaluateBinary(p, y, 0.5);
    close(m.ne, h4 / Math.LN2);
    close(m.neTestRate, 1);
    close(m.neBaseRate, 0.5);
    close(m.baseRate, 0.25);
    // Predicting the training rate scores NE 1 by the standard definition, while the test-rate
    // variant calls the same constant worse than useless: the shift is not the model's fault.
    const constant = evaluateBinary([0.5, 0.5, 0.5, 0.5], y, 0.5);
    close(constant.ne, 1);
    assert.ok(constant.neTestRate > 1.2, String(constant.neTestRate));
    // Without a training rate both are the test-rate NE (a paired comparison on one slice).
    const same = evaluateBinary(p, y);
    close(same.ne, same.neTestRate);
  });

  it('clips confident mistakes to a finite loss', () => {
    const l = logLoss([0, 1], [1, 0]);
    assert.ok(Number.isFinite(l) && l > 15 && l < 17, String(l));
  });

  it('is NaN for one-class labels and rejects length mismatches', () => {
    assert.ok(Number.isNaN(normalizedEntropy([0.2, 0.3], [0, 0])));
    assert.throws(() => logLoss([0.1], [0, 1]), /1 predictions but 2 labels/);
  });
});

describe('auc', () => {
  it('matches hand-computed values, ties as one half', () => {
    close(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
    // positives .2 and .5, negatives .5 and .7: (0 + 0.5) / 4
    close(auc([0.2, 0.5, 0.5, 0.7], [1, 0, 1, 0]), 0.125);
    close(auc([0.3, 0.3, 0.3], [1, 0, 1]), 0.5);
    close(auc([0.9, 0.1], [1, 0]), 1);
  });

  it('equals the O(n²) pair count on random data with many ties', () => {
    const rng = createRng(7);
    const p = Array.from({ length: 400 }, () => Math.round(rng.next() * 20) / 20);
    const y = p.map((x) => (rng.next() < x ? 1 : 0));
    close(auc(p, y), bruteForceAuc(p, y), 1e-12);
  });

  it('is NaN, and returns, when a score is NaN (a diverged model)', () => {
    assert.ok(Number.isNaN(auc([0.2, NaN, 0.7, 0.1], [0, 1, 1, 0])));
    assert.ok(Number.isNaN(auc([NaN, NaN], [1, 0])));
  });
  it('is NaN when a class is missing', () => {
    assert.ok(Number.isNaN(auc([0.1, 0.2], [1, 1])));
  });
});

describe('calibration and evaluateBinary', () => {
  it('is mean prediction over mean label', () => {
    close(calibration([0.2, 0.4], [0, 1]), 0.6);
    const m = evaluateBinary([0.9, 0.2, 0.6, 0.3], [1, 0, 1, 0]);
    assert.equal(m.count, 4);
    close(m.baseRate, 0.5);
    close(m.auc, 1);
    close(m.calibration, 1);
    close(m.logloss, -(Math.log(0.9) + Math.log(0.8) + Math.log(0.6) + Math.log(0.7)) / 4);
    close(m.ne, m.logloss / Math.LN2);
  });
});

describe('SlidingWindowMetrics', () => {
  it('covers exactly the last N events', () => {
    const w = new SlidingWindowMetrics(3);
    w.push([0.9, 0.1], [1, 1]);
    w.push([0.2, 0.7, 0.4], [0, 1, 0]);
    const snap = w.snapshot();
    // The standard NE divides by the rate of every event trained so far (3 of 5 positive);
    // the test-rate variant by the window's own rate (1 of 3).
    const expected = evaluateBinary([0.2, 0.7, 0.4], [0, 1, 0], 3 / 5);
    assert.equal(snap.count, 3);
    for (const k of ['logloss', 'ne', 'neTestRate', 'auc', 'calibration', 'baseRate'] as const) {
      close(snap[k], expected[k], 1e-9);
    }
    close(snap.neBaseRate, 3 / 5, 1e-12);
    close(snap.neTestRate, evaluateBinary([0.2, 0.7, 0.4], [0, 1, 0]).ne, 1e-9);
    const all = w.cumulative();
    assert.equal(all.count, 5);
    close(all.logloss, logLoss([0.9, 0.1, 0.2, 0.7, 0.4], [1, 1, 0, 1, 0]), 1e-9);
  });

  it('stays exact over many evictions', () => {
    const rng = createRng(3);
    const w = new SlidingWindowMetrics(100);
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 1037; i++) {
      p.push(rng.next());
      y.push(rng.next() < 0.3 ? 1 : 0);
      if (i % 7 === 6) {
        w.push(p.slice(-7), y.slice(-7));
      }
    }
    w.push(p.slice(1036 - (1036 % 7)), y.slice(1036 - (1036 % 7)));
    const expected = evaluateBinary(p.slice(-100), y.slice(-100));
    const snap = w.snapshot();
    close(snap.logloss, expected.logloss, 1e-9);
    close(snap.auc, expected.auc, 1e-12);
    close(snap.calibration, expected.calibration, 1e-9);
  });
});

describe('paired NE', () => {
  it('is each model’s NE and calibration on the shared events, with a paired standard error', () => {
    const labels = Float32Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const good = Float32Array.from(labels, (y) => (y === 1 ? 0.6 : 0.1));
    const worse = Float32Array.from(labels, (y) => (y === 1 ? 0.4 : 0.2));
    const p = pairedComparison(worse, good, labels);
    assert.ok(p);
    assert.equal(p.count, 400);
    assert.ok(Math.abs(p.candidateNe - normalizedEntropy(worse, labels)) < 1e-9);
    assert.ok(Math.abs(p.baselineNe - normalizedEntropy(good, labels)) < 1e-9);
    assert.ok(Math.abs(p.diff - (p.candidateNe - p.baselineNe)) < 1e-9);
    // Two classes of event, each with a fixed loss difference: the error is the spread of those.
    assert.ok(p.diffStdErr > 0 && p.diffStdErr < p.diff / 5, `${p.diffStdErr} vs ${p.diff}`);
    assert.equal(pairedComparison(good, good, labels)?.diffStdErr, 0);
    // Mean predictions 0.25 × 0.6 + 0.75 × 0.1 = 0.225 and 0.25 × 0.4 + 0.75 × 0.2 = 0.25, over
    // a label mean of 0.25.
    assert.ok(Math.abs(p.baselineCalibration - 0.9) < 1e-6);
    assert.ok(Math.abs(p.candidateCalibration - 1.0) < 1e-6);
    // √((1 − 0.25) / 100 positives)
    assert.ok(Math.abs(p.labelMeanRelStdErr - Math.sqrt(0.0075)) < 1e-9);
    assert.equal(pairedComparison(good, good, new Float32Array(400)), null, 'one class: no NE');
  });
});
