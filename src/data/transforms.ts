import type { DenseFeature } from '../../schemas/feature-spec';

/**
 * Applies one dense feature's transform to a raw value: missing or non-finite → 0, then
 * `log1p(max(x, 0))` for `log1p` (Criteo's counts are heavy-tailed and a few are negative),
 * then clipping to `clip` when the spec gives one.
 */
export function transformDense(raw: number | null | undefined, feature: DenseFeature): number {
  let x = raw === null || raw === undefined || !Number.isFinite(raw) ? 0 : raw;
  if (feature.transform === 'log1p') x = Math.log1p(x > 0 ? x : 0);
  if (feature.clip !== undefined) {
    const [lo, hi] = feature.clip;
    if (x < lo) x = lo;
    else if (x > hi) x = hi;
  }
  return x;
}
