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

/**
 * The file columns a spec reads, by name, each once: the label, then the dense and categorical
 * features' source columns. Readers fetch exactly these and hand them to {@link decodeRows}.
 */
export function sourceColumns(spec: FeatureSpec): string[] {
  const names = [spec.label, ...spec.dense.map((f) => f.name), ...spec.sparse.map((f) => f.name)];
  return [...new Set(names)];
}

/** A file's columns by name: at least those {@link sourceColumns} lists. */
export type NamedColumns = ReadonlyMap<string, ArrayLike<unknown>>;

/** Decodes rows [from, to) of a file's named columns into a raw batch in the spec's order. */
export function decodeRows(
  named: NamedColumns,
  from: number,
  to: number,
  spec: FeatureSpec,
  where: (row: number) => string,
  policy: InvalidRowPolicy,
): RawBatch {
  const column = (name: string): ArrayLike<unknown> => {
    const col = named.get(name);
    if (col === undefined) throw new TypeError(`column '${name}' was not read`);
    return col;
  };
  const cols = [
    column(spec.label),
    ...spec.dense.map((f) => column(f.name)),
    ...spec.sparse.map((f) => column(f.name)),
  ];
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
