import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgressiveMetrics } from '../../../src/stream/progressive-metrics';

const close = (a: number | undefined, b: number, tol = 1e-9) =>
  assert.ok(a !== undefined && Math.abs(a - b) < tol, `${a} ≉ ${b}`);

describe('progressive metrics', () => {
  it('reports window metrics by hand-computed values', () => {
    const m = createProgressiveMetrics(4);
    assert.deepEqual(m.snapshot(), { windowEvents: 0, scoredEvents: 0 });
    m.add(new Float32Array([0.5, 0.5]), new Float32Array([1, 0]));
    m.add(new Float32Array([0.75, 0.25]), new Float32Array([1, 0]));
    const s = m.snapshot();
    const logloss = (2 * Math.log(2) + 2 * -Math.log(0.75)) / 4;
    close(s['logloss'], logloss, 1e-6);
    close(s['ne'], logloss / Math.log(2), 1e-6);
    close(s['auc'], (0.5 + 1 + 1 + 1) / 4);
    close(s['calibration'], 2 / 2);
    assert.equal(s['windowEvents'], 4);
  });

  it('slides: only the last N events count, and drops non-finite figures', () => {
    const m = createProgressiveMetrics(2);
    m.add(new Float32Array([0.9, 0.9, 0.2, 0.2]), new Float32Array([1, 1, 0, 0]));
    const s = m.snapshot();
    assert.equal(s['windowEvents'], 2);
    assert.equal(s['scoredEvents'], 4);
    assert.ok(!('auc' in s), 'one-class window has no AUC');
    // The window is one class, so only the test-rate NE is undefined; the standard NE divides
    // by the rate of all 4 events trained so far (1/2).
    assert.ok(!('neTestRate' in s));
    close(s['logloss'], -Math.log(0.8), 1e-6);
    close(s['ne'], -Math.log(0.8) / Math.log(2), 1e-6);
  });
});
