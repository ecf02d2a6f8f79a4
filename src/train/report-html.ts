import type { TrainReport } from '../../schemas/train-report';
import { lineChart } from './svg-chart';

function fmt(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

function table(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  const th = (head ?? []).map((h) => `<th>${h}</th>`).join('');
  const tb = body.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tb}</tbody></table>`;
}

/** Renders a self-contained HTML page for one training run: summary, phase costs and three charts. */
export function renderReportHtml(report: TrainReport): string {
  const c = report.curves;
  const widthSeries = Object.entries(c.widths).map(([name, ys]) => ({
    name,
    x: c.step,
    y: ys,
    dashed: name.startsWith('bottom'),
  }));
  const summary = table([
    ['', 'value'],
    ['schedule / growth', `${report.schedule} / ${report.growth}`],
    ['dataset', report.dataset],
    ['backend', report.backend],
    ['steps × batch', `${report.steps} × ${report.batchSize}`],
    ['wall time', `${fmt(report.wallSeconds, 1)} s (${fmt(report.samplesPerSecond, 0)} samples/s)`],
    [
      'training FLOPs (multiply-adds)',
      `${report.trainFlops.toExponential(3)} = ${fmt(1 - report.flopSaving, 3)} × dense`,
    ],
    [
      'test log loss / NE (training base rate) / AUC / calibration',
      `${fmt(report.test.logloss)} / ${fmt(report.test.ne)} / ${fmt(report.test.auc)} / ${fmt(report.test.calibration, 3)}`,
    ],
    [
      'Bayes-optimal log loss / AUC',
      report.bayes
        ? `${fmt(report.bayes.logloss)} / ${fmt(report.bayes.auc)}`
        : 'unknown (real data)',
    ],
    [
      'final widths',
      Object.entries(report.finalWidths)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    ],
  ]);
  const phases = table([
    ['phase', 'steps', 'FLOPs', 'wall s'],
    ...report.phases.map((p) => [
      p.phase,
      String(p.steps),
      p.flops.toExponential(3),
      fmt(p.wallSeconds, 1),
    ]),
  ]);
  const charts = [
    lineChart('Training loss (running mean)', [{ name: 'loss', x: c.step, y: c.loss }], {
      xLabel: 'step',
      yLabel: 'log loss',
    }),
    c.eval.length > 0
      ? lineChart(
          'Held-out NE',
          [
            {
              name: `NE (${c.evalOn ?? 'test'} rows)`,
              x: c.eval.map((e) => e.step),
              y: c.eval.map((e) => e.ne),
            },
          ],
          { xLabel: 'step', yLabel: 'NE' },
        )
      : '',
    lineChart('Width of each hidden layer', widthSeries, { xLabel: 'step', yLabel: 'neurons' }),
    lineChart(
      'Cumulative training FLOPs: this run vs dense',
      [
        { name: report.schedule, x: c.step, y: c.cumFlops },
        { name: 'dense', x: c.step, y: c.cumDenseFlops },
      ],
      { xLabel: 'step', yLabel: 'multiply-adds' },
    ),
  ];
  return `<!doctype html><html><head><meta charset="utf-8"><title>AGP training report — ${report.schedule}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:960px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:4px}</style>
</head><body><h1>AGP training report</h1><p>Started ${report.startedAt}.</p>${summary}<h2>Phases</h2>${phases}<h2>Charts</h2>${charts.join('\n')}</body></html>\n`;
}
