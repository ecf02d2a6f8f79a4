import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineChart, niceTicks } from '../../../src/train/svg-chart';

test('niceTicks: round values at 1/2/5 × 10^k steps inside the range', () => {
  assert.deepEqual(niceTicks(0.9495, 0.9921), [0.95, 0.96, 0.97, 0.98, 0.99]);
  assert.deepEqual(niceTicks(0, 164.3), [0, 50, 100, 150]);
  assert.deepEqual(niceTicks(3, 7, 4), [3, 4, 5, 6, 7]);
  assert.deepEqual(niceTicks(-0.3, 0.3, 3), [-0.2, 0, 0.2]);
  assert.deepEqual(niceTicks(1, 1), [1]);
});

test('the report chart labels its axes with round ticks, not range fractions', () => {
  const svg = lineChart('NE', [{ name: 'NE', x: [0, 164.3], y: [0.9921, 0.9495] }], {
    xLabel: 'step',
    yLabel: 'NE',
  });
  assert.ok(svg.includes('>0.95<') && svg.includes('>150<'), svg);
  assert.ok(!svg.includes('>164.3<') && !svg.includes('>0.9495<'));
});
