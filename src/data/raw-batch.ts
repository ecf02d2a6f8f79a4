import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ColumnarBatch } from './batch';
import { hashCategorical } from './hashing';
import { transformDense } from './transforms';

/** A raw categorical value: a string or integer as stored in the source; null when missing. */
export type RawCategorical = string | number | null;

/**
 * Rows as a source stores them, before transforms and hashing: one column per feature, in the
 * FeatureSpec's order. Writers take this shape; readers decode into it and then call
 * {@link encodeRawBatch}, so every source shares one encoding path.
 */
export interface RawBatch {
  readonly size: number;
  /** 0 or 1 per row. */
  readonly labels: ArrayLike<number>;
  /** One column per dense feature; NaN means missing. */
  readonly dense: readonly ArrayLike<number>[];
  /** One column per categorical feature; null (or '') means missing. */
  readonly sparse: readonly ArrayLike<RawCategorical>[];
}

/** Applies the spec's dense transforms and hashes the categoricals into a {@link ColumnarBatch}. */
export function encodeRawBatch(raw: RawBatch, spec: FeatureSpec): ColumnarBatch {
  const size = raw.size;
  const numDense = spec.dense.length;
  const numSparse = spec.sparse.length;
  const dense = new Float32Array(size * numDense);
  const sparse = new Int32Array(size * numSparse);
  const labels = new Float32Array(size);
  for (let r = 0; r < size; r++) labels[r] = raw.labels[r] as number;
  spec.dense.forEach((feature, f) => {
    const col = raw.dense[f] as ArrayLike<number>;
    for (let r = 0; r < size; r++) dense[r * numDense + f] = transformDense(col[r], feature);
  });
  spec.sparse.forEach((feature, f) => {
    const col = raw.sparse[f] as ArrayLike<RawCategorical>;
    for (let r = 0; r < size; r++) {
      sparse[r * numSparse + f] = hashCategorical(col[r], f, feature.buckets);
    }
  });
  return { size, dense, sparse, labels, numDense, numSparse };
}

/** Rows [start, end) of a raw batch, without copying typed-array columns. */
export function sliceRawBatch(raw: RawBatch, start: number, end: number): RawBatch {
  const cut = <T>(col: ArrayLike<T>): ArrayLike<T> =>
    ArrayBuffer.isView(col)
      ? ((col as unknown as Float64Array).subarray(start, end) as unknown as ArrayLike<T>)
      : Array.prototype.slice.call(col, start, end);
  return {
    size: end - start,
    labels: cut(raw.labels),
    dense: raw.dense.map(cut),
    sparse: raw.sparse.map(cut),
  };
}
