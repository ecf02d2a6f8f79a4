import {
  crossPart,
  featureColumns,
  sourceOf,
  type DenseFeature,
  type FeatureSpec,
  type SparseFeature,
} from '../../schemas/feature-spec';
import { BadValue, compileDerive, crossValue } from './derive';
import type { RawBatch, RawCategorical } from './raw-batch';
import type { InvalidRowPolicy } from './source';

/** What the columnar file readers yield before rebatching. */
export type RawPieces = AsyncGenerator<RawBatch>;

/**
 * A label cell → 0/1 (numbers, bigints, booleans, or their text), or why it is not one. With
 * `positive` (the spec's `label.positive`, as text) a present cell is 1 when listed, else 0.
 */
export function checkLabel(v: unknown, positive?: ReadonlySet<string>): number | string {
  if (positive !== undefined) {
    if (v === null || v === undefined || v === '') return 'label is missing';
    return positive.has(v instanceof Date ? String(v.getTime()) : String(v)) ? 1 : 0;
  }
  const n =
    typeof v === 'bigint' || typeof v === 'boolean'
      ? Number(v)
      : typeof v === 'string'
        ? LABEL_TEXT[v]
        : v;
  if (n === 0 || n === 1) return n;
  if (v === null || v === undefined) return 'label must be 0 or 1, got null';
  return `label must be 0 or 1, got '${String(v)}' (a label coded otherwise needs "label": {"column": …, "positive": […]})`;
}

const LABEL_TEXT: Record<string, number | undefined> = Object.assign(Object.create(null), {
  '0': 0,
  '1': 1,
  true: 1,
  false: 0,
});

/**
 * A dense cell → a number (NaN when null or empty text), or why it is not numeric. Text is a
 * number when `Number` reads all of it and it has no surrounding spaces (CSV cells, string
 * columns).
 */
export function toDenseNumber(v: unknown): number | string {
  if (v === null || v === undefined || v === '') return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const n = Number(v);
    if (Number.isFinite(n) && v.trim() === v) return n;
  }
  return `not a number: '${String(v).slice(0, 40)}'`;
}

/** A categorical cell → a raw value for hashing (bytes as UTF-8 text, bigints as decimal text). */
export function toCategorical(v: unknown): RawCategorical {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return String(v);
}

/**
 * The file columns a spec reads, by name, each once: the label, then the dense and categorical
 * features' source columns (`from`, default the name; a cross's parts). Readers fetch exactly
 * these and hand them to {@link decodeRows}.
 */
export function sourceColumns(spec: FeatureSpec): string[] {
  const names = [
    spec.label,
    ...spec.dense.flatMap((f) => featureColumns(spec, f)),
    ...spec.sparse.flatMap((f) => featureColumns(spec, f)),
  ];
  return [...new Set(names)];
}

/** A file's columns by name: at least those {@link sourceColumns} lists. */
export type NamedColumns = ReadonlyMap<string, ArrayLike<unknown>>;

type Cell<T> = (row: number) => T | BadValue;

/** `column X` or, for a derived feature, `column X (feature Y)`: where a bad value was. */
function place(f: DenseFeature | SparseFeature): string {
  const col = sourceOf(f);
  return col === f.name && f.derive === undefined
    ? `column ${col}`
    : `column ${col} (feature ${f.name})`;
}

function denseCell(f: DenseFeature, col: ArrayLike<unknown>): Cell<number> {
  if (f.derive !== undefined) {
    const derive = compileDerive(f.derive);
    return (r) => {
      const v = derive(col[r]);
      return v === null ? NaN : v;
    };
  }
  return (r) => {
    const v = toDenseNumber(col[r]);
    return typeof v === 'string' ? new BadValue(v) : v;
  };
}

function sparseCell(f: SparseFeature, col: ArrayLike<unknown>): Cell<RawCategorical> {
  if (f.derive !== undefined) {
    const derive = compileDerive(f.derive);
    return (r) => derive(col[r]);
  }
  return (r) => toCategorical(col[r]);
}

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
  const labelCol = column(spec.label);
  const positive = spec.labelPositive === undefined ? undefined : new Set(spec.labelPositive);
  const denseCells = spec.dense.map((f) => denseCell(f, column(sourceOf(f))));
  const densePlaces = spec.dense.map(place);
  // Non-cross categoricals first, so a cross can read a derived part's value of the same row.
  const plain: { f: number; cell: Cell<RawCategorical>; place: string }[] = [];
  const crosses: { f: number; parts: ((row: number) => RawCategorical)[] }[] = [];
  spec.sparse.forEach((feature, f) => {
    if (feature.cross === undefined) {
      plain.push({
        f,
        cell: sparseCell(feature, column(sourceOf(feature))),
        place: place(feature),
      });
      return;
    }
    const parts = feature.cross.map((name) => {
      const p = crossPart(spec, name);
      if ('feature' in p) return () => sparseRow[p.feature] as RawCategorical;
      const col = column(p.column);
      return (r: number) => toCategorical(col[r]);
    });
    crosses.push({ f, parts });
  });
  const nd = spec.dense.length;
  const ns = spec.sparse.length;
  const labels: number[] = [];
  const dense: number[][] = Array.from({ length: nd }, () => []);
  const sparse: RawCategorical[][] = Array.from({ length: ns }, () => []);
  const denseRow = new Float64Array(nd);
  const sparseRow = new Array<RawCategorical>(ns).fill(null);
  rows: for (let r = from; r < to; r++) {
    const label = checkLabel(labelCol[r], positive);
    if (typeof label === 'string') {
      policy.reject(where(r), `column ${spec.label}: ${label}`);
      continue;
    }
    for (let f = 0; f < nd; f++) {
      const v = (denseCells[f] as Cell<number>)(r);
      if (v instanceof BadValue) {
        policy.reject(where(r), `${densePlaces[f]}: ${v.reason}`);
        continue rows;
      }
      denseRow[f] = v;
    }
    for (const p of plain) {
      const v = p.cell(r);
      if (v instanceof BadValue) {
        policy.reject(where(r), `${p.place}: ${v.reason}`);
        continue rows;
      }
      sparseRow[p.f] = v;
    }
    for (const c of crosses) {
      sparseRow[c.f] = crossValue(
        (c.parts[0] as (row: number) => RawCategorical)(r),
        (c.parts[1] as (row: number) => RawCategorical)(r),
      );
    }
    labels.push(label);
    for (let f = 0; f < nd; f++) (dense[f] as number[]).push(denseRow[f] as number);
    for (let f = 0; f < ns; f++)
      (sparse[f] as RawCategorical[]).push(sparseRow[f] as RawCategorical);
  }
  return { size: labels.length, labels, dense, sparse };
}
