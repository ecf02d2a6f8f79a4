/**
 * A dependency-free SVG line chart for the HTML training report: reports must open offline,
 * on a machine with no CDN, so no charting library is loaded.
 */
export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  color?: string;
  /** Dashed stroke, so series that coincide (e.g. equal widths of two layers) stay visible. */
  dashed?: boolean;
}

const palette = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c,
  );
}

function niceNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

/**
 * Round tick values inside [min, max]: multiples of a step of 1, 2 or 5 × 10^k chosen so about
 * `count` of them fit (so an axis reads 0.94, 0.95, 0.96 rather than 0.9495), each rounded to
 * the step's decimals.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Number(v.toFixed(decimals)));
  }
  return ticks;
}

/** Renders series as polylines on shared axes; the legend names every series. */
export function lineChart(
  title: string,
  series: readonly Series[],
  opts: { xLabel: string; yLabel: string },
): string {
  const width = 720;
  const height = 300;
  const pad = { left: 70, right: 160, top: 30, bottom: 40 };
  const xs = series.flatMap((s) => s.x.filter(Number.isFinite));
  const ys = series.flatMap((s) => s.y.filter(Number.isFinite));
  if (xs.length === 0 || ys.length === 0) {
    return `<figure><figcaption>${escapeXml(title)}</figcaption><p>(no data)</p></figure>`;
  }
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (yMin === yMax) {
    yMin -= 1;
    yMax += 1;
  }
  const sx = (x: number): number =>
    pad.left + ((x - xMin) / (xMax - xMin || 1)) * (width - pad.left - pad.right);
  const sy = (y: number): number =>
    height - pad.bottom - ((y - yMin) / (yMax - yMin)) * (height - pad.top - pad.bottom);
  const lines = series.map((s, i) => {
    const color = s.color ?? palette[i % palette.length];
    const points: string[] = [];
    for (let k = 0; k < s.x.length; k++) {
      const x = s.x[k];
      const y = s.y[k];
      if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) {
        points.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      }
    }
    const legendY = pad.top + 16 * i;
    return (
      `<polyline fill="none" stroke="${color}" stroke-width="${s.dashed ? 2.5 : 1.5}"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.join(' ')}"/>` +
      `<rect x="${width - pad.right + 10}" y="${legendY - 8}" width="10" height="10" fill="${color}"/>` +
      `<text x="${width - pad.right + 25}" y="${legendY + 1}" font-size="11">${escapeXml(s.name)}</text>`
    );
  });
  const ticks = [
    ...niceTicks(yMin, yMax).map(
      (yv) =>
        `<text x="${pad.left - 6}" y="${sy(yv) + 4}" font-size="10" text-anchor="end">${niceNumber(yv)}</text>` +
        `<line x1="${pad.left}" x2="${width - pad.right}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#eee"/>`,
    ),
    ...niceTicks(xMin, xMax).map(
      (xv) =>
        `<text x="${sx(xv)}" y="${height - pad.bottom + 14}" font-size="10" text-anchor="middle">${niceNumber(xv)}</text>`,
    ),
  ];
  return (
    `<figure><figcaption>${escapeXml(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img">` +
    ticks.join('') +
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>` +
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>` +
    lines.join('') +
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 6}" font-size="11" text-anchor="middle">${escapeXml(opts.xLabel)}</text>` +
    `<text x="14" y="${(pad.top + height - pad.bottom) / 2}" font-size="11" transform="rotate(-90 14 ${(pad.top + height - pad.bottom) / 2})" text-anchor="middle">${escapeXml(opts.yLabel)}</text>` +
    `</svg></figure>`
  );
}
