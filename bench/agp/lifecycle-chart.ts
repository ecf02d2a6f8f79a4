import type { LifecycleSegment } from './lifecycle-summary';

/** A point of a lifecycle curve: one method's mean over seeds at one segment (or the offline end). */
interface CurvePoint {
  method: string;
  rows: number;
  flops: number;
  ne: number;
}

const DOMAIN = ['dense', 'agp', 'agp-0.8', 'prune-only', 'small-dense'];

function meanCurve(
  segments: readonly LifecycleSegment[],
  offline: readonly { method: string; testNe: number; trainFlops: number }[],
): CurvePoint[] {
  const groups = new Map<string, LifecycleSegment[]>();
  for (const s of segments) {
    const key = `${s.method}|${s.startRow}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const points: CurvePoint[] = [];
  for (const g of groups.values()) {
    const first = g[0] as LifecycleSegment;
    const mean = (f: (s: LifecycleSegment) => number) => g.reduce((a, s) => a + f(s), 0) / g.length;
    points.push({
      method: first.method,
      rows: first.startRow + first.rows,
      flops: mean((s) => s.cumulativeFlops),
      ne: mean((s) => s.progressiveNe),
    });
  }
  const methods = [...new Set(offline.map((o) => o.method))];
  for (const m of methods) {
    const runs = offline.filter((o) => o.method === m);
    points.push({
      method: m,
      rows: 0,
      flops: runs.reduce((a, o) => a + o.trainFlops, 0) / runs.length,
      ne: runs.reduce((a, o) => a + o.testNe, 0) / runs.length,
    });
  }
  return points;
}

function lineSpec(
  title: string,
  subtitle: string,
  values: CurvePoint[],
  x: Record<string, unknown>,
): Record<string, unknown> {
  const color = { field: 'method', type: 'nominal', title: 'method', scale: { domain: DOMAIN } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    width: 560,
    height: 360,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 40 } },
    encoding: {
      x,
      y: {
        field: 'ne',
        type: 'quantitative',
        title: 'NE (lower is better)',
        scale: { zero: false },
        axis: { format: '.4f' },
      },
      color,
      shape: { field: 'method', type: 'nominal', scale: { domain: DOMAIN } },
      order: { field: x.field as string },
    },
  };
}

/** Progressive NE of every 100k-row segment of the drifting stream against rows (mean over seeds). */
export function progressiveNeSpec(
  segments: readonly LifecycleSegment[],
  title: string,
): Record<string, unknown> {
  return lineSpec(
    title,
    'progressive NE of each segment (scored before training), mean over seeds; x = rows since the hand-over',
    meanCurve(segments, []),
    {
      field: 'rows',
      type: 'quantitative',
      title: 'rows of the drifting stream (since hand-over)',
    },
  );
}

/**
 * NE against cumulative training FLOPs over the whole lifecycle: the offline end (test NE at
 * the offline FLOPs), then every segment's progressive NE at the FLOPs spent until its end.
 */
export function lifecycleFlopsSpec(
  segments: readonly LifecycleSegment[],
  offline: readonly { method: string; testNe: number; trainFlops: number }[],
  title: string,
): Record<string, unknown> {
  return lineSpec(
    title,
    'first point: offline test NE; then progressive NE per segment; mean over seeds',
    meanCurve(segments, offline).map((p) => ({ ...p, flops: p.flops / 1e12 })),
    {
      field: 'flops',
      type: 'quantitative',
      title: 'cumulative training FLOPs (10¹² multiply-adds)',
      scale: { zero: false },
    },
  );
}
