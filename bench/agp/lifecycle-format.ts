import type { LifecycleSegment } from './lifecycle-summary';

/** The per-segment table (mean over seeds, with the Bayes-optimal NE) and the headline figures. */
export function formatLifecycle(json: {
  segments: LifecycleSegment[];
  bayes: { startRow: number; bayesNe: number }[];
  paired: { b: string; segment: number | 'afterCatchUp'; meanPct: number; ci95Pct: number[] }[];
  catchUpRows: { method: string; seed: number; rows: number | null }[];
  flopsToDenseFinalNe: { ratio: number | null; perSeed: (number | null)[] };
  frozenReference?: {
    learned: { method: string; meanPct: number; ci95Pct: number[]; seeds: number }[];
  };
}): string {
  const methods = [...new Set(json.segments.map((g) => g.method))];
  const starts = [...new Set(json.segments.map((g) => g.startRow))].sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const lines = [`\nrows since hand-over | ${methods.join(' | ')} | Bayes NE`];
  for (const start of starts) {
    const ne = (m: string) =>
      mean(
        json.segments
          .filter((g) => g.method === m && g.startRow === start)
          .map((g) => g.progressiveNe),
      );
    const bayes = mean(json.bayes.filter((b) => b.startRow === start).map((b) => b.bayesNe));
    lines.push(
      `${start} | ${methods.map((m) => ne(m).toFixed(4)).join(' | ')} | ${bayes.toFixed(4)}`,
    );
  }
  lines.push('\nagp − b, progressive NE % [95% CI]:');
  for (const p of json.paired) {
    lines.push(
      `  vs ${p.b} @ ${p.segment}: ${p.meanPct.toFixed(3)} [${p.ci95Pct.map((x) => x.toFixed(3)).join(', ')}]`,
    );
  }
  lines.push(
    `catch-up rows: ${json.catchUpRows.map((c) => `${c.method} s${c.seed} ${c.rows ?? 'never'}`).join(', ')}`,
  );
  lines.push(
    `agp FLOPs to dense's final NE / dense's: ${json.flopsToDenseFinalNe.perSeed.map((r) => (r === null ? 'never' : r.toFixed(3))).join(', ')}`,
  );
  for (const l of json.frozenReference?.learned ?? []) {
    lines.push(
      `learned by the recurring stage (${l.method}, trained vs frozen, progressive NE %): ${l.meanPct.toFixed(2)} [${l.ci95Pct.map((x) => x.toFixed(2)).join(', ')}] over ${l.seeds} seeds`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
