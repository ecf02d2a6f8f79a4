import { AGP_BENCH_NE } from '../ne-definition';
import { cpus, platform, release, totalmem } from 'node:os';
import { REGIME_MULTIPLIER, type BenchScale } from './plan';
import { median, pairedPct } from './stats';
import type { BenchRun, Dataset, Method } from './types';

/** One paired comparison of the schema: a − b per seed, in % of b. */
export interface Paired {
  a: 'agp';
  b: 'dense' | 'prune-only' | 'small-dense';
  dataset: Dataset;
  metric: 'testNe' | 'progressiveNe' | 'continuedTestNe' | 'wallRatio';
  meanPct: number;
  ci95Pct: [number, number];
  n: number;
}

/** The regime check: dense must beat small-dense ×0.70 by ≥ 0.4% test NE on every seed. */
export const REGIME_GAP_PCT = 0.4;

const METRICS: Record<Paired['metric'], (r: BenchRun) => number | undefined> = {
  testNe: (r) => r.test.ne,
  progressiveNe: (r) => r.continued?.progressiveNe,
  continuedTestNe: (r) => r.continued?.testNe,
  wallRatio: (r) => r.wallSeconds,
};

function bySeed(runs: BenchRun[], pick: (r: BenchRun) => number | undefined): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of runs) {
    const v = pick(r);
    if (v !== undefined) m.set(r.seed, v);
  }
  return m;
}

export function headlineOf(runs: BenchRun[], dataset: Dataset, method: Method): BenchRun[] {
  return runs.filter((r) => r.headline && r.dataset === dataset && r.schedule === method);
}

export function pairedStats(runs: BenchRun[]): Paired[] {
  const out: Paired[] = [];
  for (const dataset of ['synthetic', 'criteo'] as const) {
    const agp = headlineOf(runs, dataset, 'agp');
    if (agp.length === 0) continue;
    for (const b of ['dense', 'prune-only', 'small-dense'] as const) {
      const other = headlineOf(runs, dataset, b);
      for (const metric of Object.keys(METRICS) as Array<Paired['metric']>) {
        const r = pairedPct(bySeed(agp, METRICS[metric]), bySeed(other, METRICS[metric]));
        if (r.n === 0) continue;
        out.push({ a: 'agp', b, dataset, metric, meanPct: r.mean, ci95Pct: r.ci, n: r.n });
      }
    }
  }
  return out;
}

/** Per seed, 100 × (NE of small-dense ×0.70 − NE of dense) / NE of dense on the synthetic test split. */
export function capacityGaps(runs: BenchRun[]): Array<{ seed: number; gapPct: number }> {
  const dense = bySeed(headlineOf(runs, 'synthetic', 'dense'), (r) => r.test.ne);
  const small = bySeed(
    runs.filter(
      (r) =>
        r.dataset === 'synthetic' &&
        r.schedule === 'small-dense' &&
        r.widthMultiplier === REGIME_MULTIPLIER &&
        r.kind !== 'lr',
    ),
    (r) => r.test.ne,
  );
  return [...dense]
    .filter(([seed]) => small.has(seed))
    .sort((x, y) => x[0] - y[0])
    .map(([seed, ne]) => ({ seed, gapPct: (100 * ((small.get(seed) as number) - ne)) / ne }));
}

/** One frontier point: a method at one ratio/width, mean and spread over its seeds. */
export interface FrontierPoint {
  schedule: Method;
  ratio?: number;
  widthMultiplier?: number;
  seeds: number[];
  flopsFraction: number;
  ne: number;
  neStd: number;
}

export function frontierOf(runs: BenchRun[]): FrontierPoint[] {
  const groups = new Map<string, BenchRun[]>();
  for (const r of runs.filter((r) => r.dataset === 'synthetic' && r.kind !== 'lr')) {
    const key = `${r.schedule}|${r.ratio ?? ''}|${r.widthMultiplier ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const first = rs[0] as BenchRun;
    const nes = rs.map((r) => r.test.ne);
    const mean = nes.reduce((a, b) => a + b, 0) / nes.length;
    const sd =
      nes.length < 2
        ? 0
        : Math.sqrt(nes.reduce((a, x) => a + (x - mean) ** 2, 0) / (nes.length - 1));
    const p: FrontierPoint = {
      schedule: first.schedule,
      seeds: rs.map((r) => r.seed).sort((a, b) => a - b),
      flopsFraction: rs.reduce((a, r) => a + r.trainFlops / r.denseEquivalentFlops, 0) / rs.length,
      ne: mean,
      neStd: sd,
    };
    if (first.ratio !== undefined) p.ratio = first.ratio;
    if (first.widthMultiplier !== undefined) p.widthMultiplier = first.widthMultiplier;
    return p;
  });
}

/** `bench/results/agp.json` in the schema (plus the search, frontier and scale). */
export function benchJson(opts: {
  runs: BenchRun[];
  scale: BenchScale;
  lr: Record<Dataset, Record<Method, number>>;
  lrSearch: unknown;
}) {
  const { runs, scale } = opts;
  const gaps = capacityGaps(runs);
  const capacityBound = gaps.length > 0 && gaps.every((g) => g.gapPct >= REGIME_GAP_PCT);
  const backend = [...new Set(runs.map((r) => r.backend))].join(',');
  const cpu = cpus();
  return {
    generatedAt: new Date().toISOString(),
    neDefinition: AGP_BENCH_NE,
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
    },
    backend,
    regime: {
      /** The synthetic preset the regime was measured on (src/data/SYNTHETIC.md). */
      preset: scale.preset,
      rows: scale.rows,
      testRows: scale.testRows,
      validationRows: scale.validationRows,
      continueRows: scale.continueRows,
      capacityGapPct: gaps.map((g) => g.gapPct),
      capacityGapSeeds: gaps.map((g) => g.seed),
      capacityBound,
      verdict: capacityBound
        ? `capacity-bound: dense beats small-dense ×${REGIME_MULTIPLIER} by ≥ ${REGIME_GAP_PCT}% test NE on every seed`
        : `NOT CAPACITY-BOUND: dense does not beat small-dense ×${REGIME_MULTIPLIER} by ≥ ${REGIME_GAP_PCT}% test NE on every seed`,
    },
    lr: opts.lr.synthetic,
    lrCriteo: opts.lr.criteo,
    lrSearch: opts.lrSearch,
    runs: runs.filter((r) => r.kind !== 'lr'),
    paired: pairedStats(runs),
    frontier: frontierOf(runs),
    medianWallRatio: Object.fromEntries(
      (['dense', 'prune-only', 'small-dense'] as const).map((b) => {
        const a = bySeed(headlineOf(runs, 'synthetic', 'agp'), (r) => r.wallSeconds);
        const d = bySeed(headlineOf(runs, 'synthetic', b), (r) => r.wallSeconds);
        return [
          b,
          median([...a].filter(([s]) => d.has(s)).map(([s, v]) => v / (d.get(s) as number))),
        ];
      }),
    ),
  };
}
export type BenchJson = ReturnType<typeof benchJson>;

const f4 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(4));
const pct = (x: number) => (Number.isNaN(x) ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}%`);

function mean(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The tables `npm run bench:agp` prints (and the README's figures paragraph is made from). */
export function formatTables(j: BenchJson, runs: BenchRun[]): string {
  const lines: string[] = [];
  const lrOf = (d: Dataset) => (d === 'synthetic' ? j.lr : j.lrCriteo);
  for (const dataset of ['synthetic', 'criteo'] as const) {
    const any = runs.some((r) => r.headline && r.dataset === dataset);
    if (!any) continue;
    lines.push(
      `\n${dataset} headline (means over seeds; FLOPs and wall relative to dense on the same seeds)`,
    );
    lines.push(
      'method        lr      seeds  test NE  AUC     FLOPs×  wall× (median)  cont. prog. NE  cont. test NE',
    );
    const dense = headlineOf(runs, dataset, 'dense');
    for (const m of ['dense', 'agp', 'prune-only', 'small-dense'] as const) {
      const rs = headlineOf(runs, dataset, m);
      if (rs.length === 0) continue;
      const wall = median(
        rs.map(
          (r) => r.wallSeconds / (dense.find((d) => d.seed === r.seed)?.wallSeconds ?? Number.NaN),
        ),
      );
      lines.push(
        [
          m.padEnd(13),
          String(lrOf(dataset)[m]).padEnd(7),
          String(rs.length).padStart(5),
          f4(mean(rs.map((r) => r.test.ne))).padStart(8),
          f4(mean(rs.map((r) => r.test.auc))).padStart(7),
          mean(rs.map((r) => r.trainFlops / r.denseEquivalentFlops))
            .toFixed(3)
            .padStart(7),
          wall.toFixed(3).padStart(15),
          f4(mean(rs.flatMap((r) => (r.continued ? [r.continued.progressiveNe] : [])))).padStart(
            15,
          ),
          f4(mean(rs.flatMap((r) => (r.continued ? [r.continued.testNe] : [])))).padStart(14),
        ].join(' '),
      );
    }
    lines.push(`\n${dataset}: paired differences, agp − b in % of b (95% Student-t CI over seeds)`);
    for (const p of j.paired.filter((p) => p.dataset === dataset)) {
      const verdict =
        p.ci95Pct[1] < 0
          ? 'agp lower'
          : p.ci95Pct[0] > 0
            ? 'agp higher'
            : 'CI spans 0: no difference shown';
      lines.push(
        `  ${p.metric.padEnd(16)} agp − ${p.b.padEnd(12)} ${pct(p.meanPct).padStart(8)}  [${pct(p.ci95Pct[0])}, ${pct(p.ci95Pct[1])}]  n=${p.n}  ${verdict}`,
      );
    }
  }
  lines.push(
    `\nregime (synthetic ${j.regime.preset}): ${j.regime.verdict}; gap per seed ${j.regime.capacityGapPct.map((g) => pct(g)).join(' / ') || '-'}`,
  );
  if (!j.regime.capacityBound)
    lines.push(
      '!!! NOT CAPACITY-BOUND: the comparison below is not the one the benchmark is for !!!',
    );
  lines.push('\nfrontier (synthetic): method, ratio/width, seeds, FLOPs fraction, test NE ± sd');
  for (const p of [...j.frontier].sort((a, b) => a.flopsFraction - b.flopsFraction)) {
    lines.push(
      `  ${p.schedule.padEnd(12)} ${String(p.ratio ?? p.widthMultiplier ?? '-').padEnd(6)} ${p.seeds.join(',').padEnd(10)} ${p.flopsFraction.toFixed(3)}  ${f4(p.ne)} ± ${f4(p.neStd)}`,
    );
  }
  return lines.join('\n') + '\n';
}
