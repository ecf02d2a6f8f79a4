import type { meanCi } from './stats';
import { pairedPct } from './stats';

/**
 * The lifecycle benchmark's figures (issue 22's `agp-lifecycle.json`), from per-seed segment
 * curves. Pure, no I/O.
 */

/** One method's progressive NE on one 100k-row segment of the drifting stream, one seed. */
export interface LifecycleSegment {
  method: string;
  seed: number;
  startRow: number;
  rows: number;
  progressiveNe: number;
  /** Offline training FLOPs plus the recurring stage's up to the segment's end. */
  cumulativeFlops: number;
}

/** A paired difference a − b in % over seeds (95% Student-t CI). */
export interface LifecyclePaired {
  a: string;
  b: string;
  metric: 'progressiveNe';
  segment: number | 'afterCatchUp';
  meanPct: number;
  ci95Pct: [number, number];
  seeds: number;
}

/** Catch-up tolerance: a method has caught up once its segment NE ≤ dense's × (1 + this). */
export const CATCH_UP_TOLERANCE = 0.0005;

function curve(segments: readonly LifecycleSegment[], method: string, seed: number) {
  return segments
    .filter((s) => s.method === method && s.seed === seed)
    .sort((x, y) => x.startRow - y.startRow);
}

/**
 * Rows of the drifting stream until `method` is within 0.05% of dense and stays there: the end
 * of the first segment from which every segment's NE is ≤ dense's × 1.0005. 0 when it never
 * fell behind; null when it is still behind on the last segment.
 */
export function catchUpRows(
  segments: readonly LifecycleSegment[],
  method: string,
  seed: number,
  reference = 'dense',
): number | null {
  const mine = curve(segments, method, seed);
  const ref = new Map(curve(segments, reference, seed).map((s) => [s.startRow, s.progressiveNe]));
  const first = mine[0]?.startRow ?? 0;
  let caughtAt: number | null = first;
  for (const s of mine) {
    const d = ref.get(s.startRow);
    if (d === undefined) continue;
    if (s.progressiveNe > d * (1 + CATCH_UP_TOLERANCE)) caughtAt = null;
    else if (caughtAt === null) caughtAt = s.startRow;
  }
  return caughtAt === null ? null : caughtAt - first;
}

/** Row-weighted mean segment NE of a curve from `fromRow` (relative to the stream's start). */
function meanNeFrom(curveOf: readonly LifecycleSegment[], fromRow: number): number | undefined {
  const first = curveOf[0]?.startRow ?? 0;
  const after = curveOf.filter((s) => s.startRow - first >= fromRow);
  const rows = after.reduce((a, s) => a + s.rows, 0);
  if (rows === 0) return undefined;
  return after.reduce((a, s) => a + s.progressiveNe * s.rows, 0) / rows;
}

/**
 * Paired differences of `a` against each of `bs`: per segment, and over the rows after a's
 * catch-up with dense on that seed (seeds where a never caught up are left out).
 */
export function pairedSegments(
  segments: readonly LifecycleSegment[],
  a: string,
  bs: readonly string[],
  seeds: readonly number[],
): LifecyclePaired[] {
  const out: LifecyclePaired[] = [];
  const starts = [...new Set(segments.filter((s) => s.method === a).map((s) => s.startRow))].sort(
    (x, y) => x - y,
  );
  for (const b of bs) {
    for (const start of starts) {
      const at = (m: string) =>
        new Map(
          segments
            .filter((s) => s.method === m && s.startRow === start)
            .map((s) => [s.seed, s.progressiveNe]),
        );
      out.push(row(a, b, start, pairedPct(at(a), at(b))));
    }
    const va = new Map<number, number>();
    const vb = new Map<number, number>();
    for (const seed of seeds) {
      const from = catchUpRows(segments, a, seed);
      if (from === null) continue;
      const x = meanNeFrom(curve(segments, a, seed), from);
      const y = meanNeFrom(curve(segments, b, seed), from);
      if (x !== undefined && y !== undefined) {
        va.set(seed, x);
        vb.set(seed, y);
      }
    }
    out.push(row(a, b, 'afterCatchUp', pairedPct(va, vb)));
  }
  return out;
}

function row(
  a: string,
  b: string,
  segment: number | 'afterCatchUp',
  m: ReturnType<typeof meanCi>,
): LifecyclePaired {
  return { a, b, metric: 'progressiveNe', segment, meanPct: m.mean, ci95Pct: m.ci, seeds: m.n };
}

/**
 * FLOPs `method` spends until it reaches dense's NE and stays there — the end of its catch-up
 * segment ({@link catchUpRows}: every later segment within 0.05% of dense's on the same rows) —
 * over dense's FLOPs for the whole lifecycle; per seed (null: still behind on the last segment)
 * and their mean. Same rows on both sides: on a drifting stream every model's NE rises as the
 * teacher moves, so comparing a method's early segments with dense's *last* one (the first
 * definition) called a model that never caught up "at dense's NE" after one segment.
 */
export function flopsToDenseFinalNe(
  segments: readonly LifecycleSegment[],
  method: string,
  seeds: readonly number[],
): { ratio: number | null; perSeed: (number | null)[] } {
  const perSeed = seeds.map((seed) => {
    const dense = curve(segments, 'dense', seed);
    const last = dense[dense.length - 1];
    const mine = curve(segments, method, seed);
    const from = catchUpRows(segments, method, seed);
    if (last === undefined || from === null) return null;
    const first = mine[0]?.startRow ?? 0;
    const hit = mine.find((s) => s.startRow - first >= from);
    return hit === undefined ? null : hit.cumulativeFlops / last.cumulativeFlops;
  });
  const found = perSeed.filter((r): r is number => r !== null);
  const ratio =
    found.length === perSeed.length && found.length > 0
      ? found.reduce((a, b) => a + b, 0) / found.length
      : null;
  return { ratio, perSeed };
}

/**
 * What the recurring stage learned: per seed, the row-weighted mean progressive NE of `method`
 * trained on the stream over the same model scored frozen (never updated) on the same rows, as
 * a paired difference in % (below 0: training on the stream helped).
 */
export function learnedPct(
  trained: readonly LifecycleSegment[],
  frozen: readonly LifecycleSegment[],
  method: string,
  seeds: readonly number[],
): { method: string; meanPct: number; ci95Pct: [number, number]; seeds: number } {
  const means = (segments: readonly LifecycleSegment[]) =>
    new Map(
      seeds.flatMap((seed) => {
        const m = meanNeFrom(curve(segments, method, seed), 0);
        return m === undefined ? [] : [[seed, m] as [number, number]];
      }),
    );
  const m = pairedPct(means(trained), means(frozen));
  return { method, meanPct: m.mean, ci95Pct: m.ci, seeds: m.n };
}
