import type { FrontierPoint } from './summary';

/**
 * The FLOPs/NE frontier as a Vega-Lite spec, rendered to a standalone SVG in Node (no browser,
 * no network): test NE (mean over seeds, bars ±1 s.d.) against training FLOPs as a fraction of
 * dense, one colour and marker shape per method, each method's points joined in FLOPs order.
 */
export function frontierSpec(points: FrontierPoint[], title: string): Record<string, unknown> {
  const values = points.map((p) => ({
    method: p.schedule,
    label:
      p.ratio !== undefined
        ? `r ${p.ratio}`
        : p.widthMultiplier !== undefined
          ? `×${p.widthMultiplier}`
          : '',
    flops: p.flopsFraction,
    ne: p.ne,
    lo: p.ne - p.neStd,
    hi: p.ne + p.neStd,
    seeds: p.seeds.length,
  }));
  // One explicit NE range for every layer, so no error bar runs off the plot (the shared scale
  // was fitted to the points and clipped the widest bars).
  const lo = Math.min(...values.map((v) => v.lo));
  const hi = Math.max(...values.map((v) => v.hi));
  const pad = (hi - lo) * 0.04;
  const yScale = { zero: false, nice: false, domain: [lo - pad, hi + pad] };
  const x = {
    field: 'flops',
    type: 'quantitative',
    title: 'training FLOPs (fraction of dense)',
    scale: { zero: false, padding: 12 },
    axis: { format: '.2f' },
  };
  const color = {
    field: 'method',
    type: 'nominal',
    title: 'method',
    scale: { domain: ['dense', 'agp', 'prune-only', 'small-dense'] },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle:
        'mean over seeds; error bars ±1 s.d. over seeds; labels: prune ratio r or width multiplier ×',
    },
    width: 560,
    height: 360,
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'line', opacity: 0.5 },
        encoding: {
          x,
          y: { field: 'ne', type: 'quantitative', scale: yScale },
          color,
          order: { field: 'flops' },
        },
      },
      {
        mark: { type: 'rule' },
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative', scale: yScale },
          y2: { field: 'hi' },
          color,
        },
      },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x,
          y: {
            field: 'ne',
            type: 'quantitative',
            title: 'test NE (lower is better)',
            scale: yScale,
            axis: { format: '.4f' },
          },
          color,
          shape: { field: 'method', type: 'nominal', scale: { domain: color.scale.domain } },
        },
      },
      {
        mark: { type: 'text', dx: 6, dy: -8, align: 'left', fontSize: 9 },
        encoding: {
          x,
          y: { field: 'ne', type: 'quantitative', scale: yScale },
          text: { field: 'label' },
        },
      },
    ],
  };
}

/** Renders a Vega-Lite spec to an SVG string (vega and vega-lite are ESM-only: loaded lazily). */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
