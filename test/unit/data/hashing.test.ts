import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashCategorical, MISSING_BUCKET } from '../../../src/data/hashing';
import { transformDense } from '../../../src/data/transforms';

describe('hashCategorical', () => {
  it('is stable across runs (pinned values)', () => {
    // Changing these breaks every trained embedding table: only on purpose, with a migration.
    assert.deepEqual(
      [
        hashCategorical('68fd1e64', 0, 100_000),
        hashCategorical('68fd1e64', 1, 100_000),
        hashCategorical(12345, 3, 1000),
        hashCategorical('Комедия', 2, 64),
        hashCategorical('😀', 2, 64),
      ],
      PINNED,
    );
  });

  it('maps missing values to the reserved bucket and present ones elsewhere', () => {
    for (const v of ['', null, undefined, NaN])
      assert.equal(hashCategorical(v, 5, 1000), MISSING_BUCKET);
    for (let i = 0; i < 2000; i++)
      assert.notEqual(hashCategorical(`v${i}`, 5, 1000), MISSING_BUCKET);
    assert.equal(hashCategorical('x', 0, 1), 0);
  });

  it('hashes an integer like its decimal text', () => {
    for (const n of [0, 7, -3, 123456789, 2 ** 40, 1.5]) {
      assert.equal(hashCategorical(n, 4, 997), hashCategorical(String(n), 4, 997));
    }
  });

  it('stays in range and spreads values evenly', () => {
    const buckets = 101;
    const counts = new Array<number>(buckets).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const b = hashCategorical(i.toString(16), 7, buckets);
      assert.ok(Number.isInteger(b) && b >= 1 && b < buckets);
      counts[b]!++;
    }
    const expected = n / (buckets - 1);
    for (let b = 1; b < buckets; b++) {
      assert.ok(Math.abs(counts[b]! - expected) < 0.1 * expected, `bucket ${b}: ${counts[b]}`);
    }
  });

  it('differs between tables', () => {
    let same = 0;
    for (let i = 0; i < 1000; i++)
      if (hashCategorical(i, 0, 1e6) === hashCategorical(i, 1, 1e6)) same++;
    assert.ok(same < 5, `${same} collisions across tables`);
  });
});

describe('transformDense', () => {
  it('maps missing to 0, applies log1p of the positive part, then clips', () => {
    const log1p = { name: 'x', transform: 'log1p' as const };
    assert.equal(transformDense(null, log1p), 0);
    assert.equal(transformDense(NaN, log1p), 0);
    assert.equal(transformDense(Infinity, log1p), 0);
    assert.equal(transformDense(-5, log1p), 0);
    assert.ok(Math.abs(transformDense(Math.E - 1, log1p) - 1) < 1e-12);
    assert.equal(transformDense(1000, { ...log1p, clip: [0, 3] }), 3);
    assert.equal(transformDense(-2.5, { name: 'x', transform: 'none', clip: [-1, 1] }), -1);
    assert.equal(transformDense(0.25, { name: 'x', transform: 'none' }), 0.25);
  });
});

const PINNED = [14960, 31302, 898, 7, 38];
