import type { DenseFeature } from '../../schemas/feature-spec';

/** A raw dense value as the network input before clipping: non-finite counts as missing (0). */
function unclipped(raw: number | null | undefined, feature: DenseFeature): number {
  // NaN and ±Infinity carry no usable magnitude: they are treated as missing.
  const x = raw === null || raw === undefined || !Number.isFinite(raw) ? 0 : raw;
  return feature.transform === 'log1p' ? Math.log1p(x > 0 ? x : 0) : x;
}

/**
 * Applies one dense feature's transform to a raw value: missing or non-finite → 0, then
 * `log1p(max(x, 0))` for `log1p` (Criteo's counts are heavy-tailed and a few are negative),
 * then clipping to `clip` when the spec gives one (a published version's spec carries the range
 * learned from its offline data, src/data/dense-ranges.ts).
 */
export function transformDense(raw: number | null | undefined, feature: DenseFeature): number {
  const x = unclipped(raw, feature);
  if (feature.clip === undefined) return x;
  const [lo, hi] = feature.clip;
  return x < lo ? lo : x > hi ? hi : x;
}

/** True when the transformed value falls outside the feature's `clip` (clipping changes it). */
export function isClipped(raw: number | null | undefined, feature: DenseFeature): boolean {
  if (feature.clip === undefined) return false;
  const x = unclipped(raw, feature);
  return x < feature.clip[0] || x > feature.clip[1];
}
