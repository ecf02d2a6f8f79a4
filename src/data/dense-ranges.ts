import { z } from 'zod';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ColumnarBatch } from './batch';

/*
 * Ranges of the dense model inputs learned from the offline training data, which become each
 * dense feature's `clip` in the published version's feature spec (so the recurring phase and
 * scoring clip what the offline run never showed the network).
 *
 * Why min/max of the transformed value, widened by a margin, rather than quantiles: every value
 * the offline model was trained on then passes unchanged online (a quantile clip would encode
 * the tail of the training data differently online than offline, a shift of the input
 * distribution at hand-over); the range is exact and cheap to collect in one streaming pass
 * (no sketch); and after `log1p` a heavy tail is already compressed, so one large training value
 * widens the box by a few units, not by orders of magnitude. What it guards against is
 * extrapolation: a ReLU MLP's output outside the box it was fitted on is unconstrained (a raw
 * 1e308 becomes 709.8 after log1p, ~50× any trained input). The margin leaves room for mild
 * drift. 0 (the value of a missing input) is always inside, so "missing → 0" keeps its meaning.
 */

/** Per dense feature, the smallest and largest transformed value seen, and the rows seen. */
export const DenseRanges = z.object({
  min: z.array(z.number()),
  max: z.array(z.number()),
  rows: z.number().int().nonnegative(),
});
export type DenseRanges = z.infer<typeof DenseRanges>;

/** Widening of each learned range on both sides, as a fraction of its width. @default 0.1 */
export const DEFAULT_RANGE_MARGIN = 0.1;

/** Accumulates {@link DenseRanges} over the batches a model is trained on. */
export interface DenseRangeTracker {
  /** Folds in a batch's dense inputs (already transformed: what the network sees). */
  observe(batch: ColumnarBatch): void;
  /** The ranges so far (a copy, JSON-safe; ±Infinity never appears: min/max start at 0). */
  snapshot(): DenseRanges;
}

/** A tracker for `numDense` features, continuing from `from` (a resumed run). */
export function createDenseRangeTracker(numDense: number, from?: DenseRanges): DenseRangeTracker {
  if (from !== undefined && (from.min.length !== numDense || from.max.length !== numDense)) {
    throw new Error(`dense ranges for ${from.min.length} features, the model has ${numDense}`);
  }
  // Starting at 0 puts 0 (missing) inside every range.
  const min = from === undefined ? new Float64Array(numDense) : Float64Array.from(from.min);
  const max = from === undefined ? new Float64Array(numDense) : Float64Array.from(from.max);
  let rows = from?.rows ?? 0;
  return {
    observe(batch) {
      const { dense, size } = batch;
      for (let r = 0; r < size; r++) {
        const o = r * numDense;
        for (let f = 0; f < numDense; f++) {
          const v = dense[o + f] as number;
          // Non-finite inputs cannot come out of transformDense; skipping them keeps the JSON valid.
          if (!Number.isFinite(v)) continue;
          if (v < (min[f] as number)) min[f] = v;
          if (v > (max[f] as number)) max[f] = v;
        }
      }
      rows += size;
    },
    snapshot: () => ({ min: [...min], max: [...max], rows }),
  };
}

/**
 * `spec` with every dense feature's `clip` set to its learned range widened by `margin` × the
 * range's width on each side. A clip the spec already had (the user's) is kept as the outer
 * bound: the learned range never loosens it.
 */
export function withLearnedClips(
  spec: FeatureSpec,
  ranges: DenseRanges,
  margin = DEFAULT_RANGE_MARGIN,
): FeatureSpec {
  if (ranges.min.length !== spec.dense.length) {
    throw new Error(
      `dense ranges for ${ranges.min.length} features, the spec has ${spec.dense.length}`,
    );
  }
  if (ranges.rows === 0) return spec;
  return {
    ...spec,
    dense: spec.dense.map((feature, f) => {
      const lo = ranges.min[f] as number;
      const hi = ranges.max[f] as number;
      const pad = margin * (hi - lo);
      let clip: [number, number] = [lo - pad, hi + pad];
      if (feature.clip !== undefined) {
        clip = [Math.max(clip[0], feature.clip[0]), Math.min(clip[1], feature.clip[1])];
      }
      return { ...feature, clip };
    }),
  };
}
