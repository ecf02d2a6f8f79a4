import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meanCi, median, pairedPct, studentTCdf, studentTQuantile } from '../../../bench/agp/stats';

test('Student t quantiles match the printed tables', () => {
  // Two-sided 95% critical values (t_{0.975}): standard tables to 3 decimals.
  const table: Array<[number, number]> = [
    [1, 12.706],
    [2, 4.303],
    [3, 3.182],
    [4, 2.776],
    [9, 2.262],
    [30, 2.042],
  ];
  for (const [df, t] of table)
    assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-3, `df ${df}`);
  assert.ok(Math.abs(studentTQuantile(0.95, 4) - 2.132) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.5, 7)) < 1e-6);
  assert.ok(Math.abs(studentTQuantile(0.025, 4) + 2.776) < 1e-3);
  // Large df approaches the normal.
  assert.ok(Math.abs(studentTQuantile(0.975, 1e6) - 1.95996) < 1e-3);
  assert.ok(Math.abs(studentTCdf(0, 3) - 0.5) < 1e-12);
  assert.throws(() => studentTQuantile(1, 3), RangeError);
});

test('meanCi: mean ± t·s/√n over the sample', () => {
  // xs = 1..5: mean 3, s = √2.5, half-width 2.776 × √2.5 / √5 = 1.963.
  const r = meanCi([1, 2, 3, 4, 5]);
  assert.equal(r.n, 5);
  assert.ok(Math.abs(r.mean - 3) < 1e-12);
  assert.ok(Math.abs(r.ci[0] - (3 - 1.9629)) < 1e-3);
  assert.ok(Math.abs(r.ci[1] - (3 + 1.9629)) < 1e-3);
  const one = meanCi([2]);
  assert.equal(one.mean, 2);
  assert.ok(Number.isNaN(one.ci[0]));
});

test('pairedPct pairs by seed, ignores unpaired seeds, and reports % of b', () => {
  const a = new Map([
    [1, 1.01],
    [2, 0.99],
    [3, 1.0],
    [9, 5],
  ]);
  const b = new Map([
    [1, 1.0],
    [2, 1.0],
    [3, 1.0],
  ]);
  const r = pairedPct(a, b);
  assert.equal(r.n, 3);
  assert.ok(Math.abs(r.mean - 0) < 1e-9);
  // diffs 1, −1, 0 %: s = 1, half-width 4.303 / √3 = 2.484.
  assert.ok(Math.abs(r.ci[1] - 2.4843) < 1e-3);
  assert.ok(Math.abs(r.ci[0] + 2.4843) < 1e-3);
});

test('median of odd and even samples', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});
