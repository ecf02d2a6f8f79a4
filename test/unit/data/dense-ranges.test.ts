import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DenseFeature, FeatureSpec } from '../../../schemas/feature-spec';
import { encodeRawBatch } from '../../../src/data/raw-batch';
import {
  createDenseRangeTracker,
  DenseRanges,
  withLearnedClips,
} from '../../../src/data/dense-ranges';
import { isClipped, transformDense } from '../../../src/data/transforms';

const spec = FeatureSpec.parse({
  dense: [
    { name: 'count', transform: 'log1p' },
    { name: 'score', transform: 'none' },
    { name: 'bounded', transform: 'none', clip: [-1, 0.5] },
  ],
  sparse: [{ name: 'c', buckets: 10 }],
});

/** Ranges learned from three rows of raw values. */
function learned(): FeatureSpec {
  const batch = encodeRawBatch(
    {
      size: 3,
      labels: [0, 1, 0],
      dense: [
        [0, 9, 99], // log1p: 0, 2.303, 4.605
        [2, 3, 4],
        [-5, 0.25, Number.NaN],
      ],
      sparse: [['a', 'b', 'c']],
    },
    spec,
  );
  const tracker = createDenseRangeTracker(3);
  tracker.observe(batch);
  return withLearnedClips(spec, DenseRanges.parse(tracker.snapshot()));
}

describe('dense transforms', () => {
  const log1p = DenseFeature.parse({ name: 'x' });
  it('treats non-finite values as missing (0), before and after log1p', () => {
    for (const raw of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null]) {
      assert.equal(transformDense(raw, log1p), 0, String(raw));
      assert.equal(transformDense(raw, { name: 'y', transform: 'none' }), 0, String(raw));
      assert.equal(isClipped(raw, { name: 'y', transform: 'none', clip: [1, 2] }), true);
    }
    assert.ok(Math.abs(transformDense(1e308, log1p) - 709.196) < 1e-3, 'unclipped 1e308');
  });

  it('clips to the learned range plus a 10% margin, and keeps 0 (missing) inside', () => {
    const [count, score, bounded] = learned().dense as [DenseFeature, DenseFeature, DenseFeature];
    // The batch holds float32 inputs: the learned bounds are float32-rounded.
    const top = Math.fround(Math.log1p(99));
    assert.deepEqual(count.clip, [-0.1 * top, top + 0.1 * top]);
    // 0 is inside although every value seen was in [2, 4].
    assert.deepEqual(
      score.clip?.map((v) => +v.toFixed(6)),
      [-0.4, 4.4],
    );
    // Seen [-1, 0.25] (already clipped by the user's [-1, 0.5]), widened by 0.125 each side,
    // and the user's clip stays the outer bound.
    assert.deepEqual(bounded.clip, [-1, 0.375]);
    assert.equal(transformDense(1e308, count), count.clip?.[1]);
    assert.equal(isClipped(1e308, count), true);
    assert.equal(transformDense(50, count), Math.log1p(50));
    assert.equal(isClipped(50, count), false);
    assert.equal(transformDense(-1e300, score), -0.4);
    assert.equal(transformDense(null, score), 0);
    assert.equal(isClipped(null, score), false);
  });

  it('leaves a spec without learned ranges (an older version) unclipped', () => {
    assert.equal(withLearnedClips(spec, { min: [0, 0, 0], max: [0, 0, 0], rows: 0 }), spec);
    assert.equal(transformDense(1e308, spec.dense[1] as DenseFeature), 1e308);
    assert.equal(isClipped(1e308, spec.dense[1] as DenseFeature), false);
  });

  it('continues ranges from a resumed run and refuses ones of another layout', () => {
    const from = { min: [-1, 0, 0], max: [1, 2, 3], rows: 10 };
    const tracker = createDenseRangeTracker(3, from);
    tracker.observe({
      size: 1,
      numDense: 3,
      numSparse: 0,
      dense: Float32Array.from([5, -2, 1]),
      sparse: new Int32Array(0),
      labels: new Float32Array(1),
    });
    assert.deepEqual(tracker.snapshot(), { min: [-1, -2, 0], max: [5, 2, 3], rows: 11 });
    assert.throws(() => createDenseRangeTracker(2, from), /3 features, the model has 2/);
    assert.throws(() => withLearnedClips(spec, { min: [0], max: [0], rows: 1 }), /1 features/);
  });
});
