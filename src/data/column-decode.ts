import type { FeatureSpec } from '../../schemas/feature-spec';
import type { RawBatch, RawCategorical } from './raw-batch';
import type { InvalidRowPolicy } from './source';

/** What the columnar file readers yield before rebatching. */
export type RawPieces = AsyncGenerator<RawBatch>;

/** A label cell → 0/1, or a description of why it is not one. */
export function checkLabel(v: unknown): number | string {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) : v;
  if (n === 0 || n === 1) return n;
  return `label must be 0 or 1, got ${v === null || v === undefined ? 'null' : `'${String(v)}'`}`;
}

/** A dense cell → a number (NaN when null), or a description of why it is not numeric. */
export function toDenseNumber(v: unknown): number | string {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return `not a number: '${String(v).slice(0, 40)}'`;
}

/** A categorical cell → a raw value for hashing (bytes as UTF-8 text, bigints as decimal text). */
export function toCategorical(v: unknown): RawCategorical {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return String(v);
}

/** Decodes rows [from, to) of columns (label, dense…, sparse…) into a raw batch. */
export function decodeRows(
  cols: ArrayLike<unknown>[],
  from: number,
  to: number,
  spec: FeatureSpec,
  where: (row: number) => string,
  policy: InvalidRowPolicy,
): RawBatch {
  const nd = spec.dense.length;
  const ns = spec.sparse.length;
  const labels: number[] = [];
  const dense: number[][] = Array.from({ length: nd }, () => []);
  const sparse: RawCategorical[][] = Array.from({ length: ns }, () => []);
  const denseRow = new Float64Array(nd);
  rows: for (let r = from; r < to; r++) {
    const label = checkLabel((cols[0] as ArrayLike<unknown>)[r]);
    if (typeof label === 'string') {
      policy.reject(where(r), `column ${spec.label}: ${label}`);
      continue;
    }
    for (let f = 0; f < nd; f++) {
      const v = toDenseNumber((cols[1 + f] as ArrayLike<unknown>)[r]);
      if (typeof v === 'string') {
        policy.reject(where(r), `column ${spec.dense[f]?.name}: ${v}`);
        continue rows;
      }
      denseRow[f] = v;
    }
    labels.push(label);
    for (let f = 0; f < nd; f++) (dense[f] as number[]).push(denseRow[f] as number);
    for (let f = 0; f < ns; f++) {
      (sparse[f] as RawCategorical[]).push(
        toCategorical((cols[1 + nd + f] as ArrayLike<unknown>)[r]),
      );
    }
  }
  return { size: labels.length, labels, dense, sparse };
}
