/**
 * The regime probe (`npm run bench:agp:regime -- …`): is a synthetic preset capacity-bound the
 * way `bench:agp` measures it? Trains `dense` and `small-dense` ×0.70 (the benchmark's regime
 * check) through the benchmark's own job configs (bench/agp/plan.ts `lrJob`: the same student,
 * pinned SGD, one pass over the training stream, scored on the validation split), then scores
 * each model on the test split too, so one training gives both the figure that may choose its lr
 * (validation) and the regime gap (test). Prints one line per run and, per lr and at each
 * method's lr chosen by validation NE on the first seed (the benchmark's rule; with
 * `--tune-on-first-seed` later seeds train only at that lr), the gap
 * 100 × (NE small − NE dense) / NE dense on the test split, per seed.
 *
 *   node --import tsx bench/agp/regime-probe.ts --preset capacity-bound \
 *     --overrides '{"logitStd":3}' --rows 200000 --seeds 1,2 --lrs 0.2,0.4 [--out probe.jsonl]
 *
 * NE does not depend on machine load (the runs are deterministic per seed), so this may run on
 * a busy machine; its wall times are not benchmark figures.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SyntheticPreset } from '../../schemas/synthetic';
import { parseTrainConfig, type TrainConfigInput } from '../../schemas/train-config';
import { evaluateOn } from '../../src/train/evaluate';
import { runOfflineTraining } from '../../src/train/offline';
import { openTrainingData } from '../../src/train/open-data';
import { DEFAULT_PRESET, lrJob, REGIME_MULTIPLIER, type BenchScale } from './plan';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: DEFAULT_PRESET },
    /** JSON knob overrides of the preset (schemas/synthetic.ts), e.g. '{"logitStd":3}'. */
    overrides: { type: 'string', default: '{}' },
    rows: { type: 'string', default: '200000' },
    'test-rows': { type: 'string', default: '100000' },
    'validation-rows': { type: 'string', default: '50000' },
    seeds: { type: 'string', default: '1,2' },
    lrs: { type: 'string', default: '0.2,0.4' },
    /** Appends one JSON line per run here (the probe's record). */
    out: { type: 'string' },
    /** A label for the candidate in the output (default: the overrides). */
    label: { type: 'string' },
    /** Train the lr grid on the first seed only; later seeds at each arm's chosen lr. */
    'tune-on-first-seed': { type: 'boolean', default: false },
  },
});

const list = (v: string): number[] =>
  v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`regime-probe: '${x}' is not a number`);
    return n;
  });

type Arm = 'dense' | 'small-dense';
interface Metrics {
  logloss: number;
  ne: number;
  auc: number;
  calibration: number;
}
interface ProbeRun {
  label: string;
  arm: Arm;
  seed: number;
  lr: number;
  validation: Metrics;
  test: Metrics;
  bayesTestNe?: number;
  seconds: number;
}

async function probeOne(s: BenchScale, arm: Arm, seed: number, lr: number): Promise<ProbeRun> {
  const t0 = performance.now();
  const extra = arm === 'small-dense' ? { widthMultiplier: REGIME_MULTIPLIER } : {};
  const job = lrJob(s, 'synthetic', arm, seed, lr, extra);
  const input: TrainConfigInput = {
    ...job.config,
    outDir: join('.data', 'bench', 'regime-probe', job.config.name ?? arm),
  };
  const { report, trainer } = await runOfflineTraining(parseTrainConfig(input, 'probe config'));
  try {
    // The benchmark's test split of this seed (plan.ts trainJob): same teacher, own rows.
    const train = input.data?.train as { rows: number };
    const testInput = {
      ...input,
      data: { ...input.data, test: { ...train, rows: s.testRows, split: 'test' } },
    } as TrainConfigInput;
    const data = openTrainingData(parseTrainConfig(testInput, 'probe test config'));
    const test = await evaluateOn(trainer, data.test);
    const run: ProbeRun = {
      label: values.label ?? values.overrides,
      arm,
      seed,
      lr,
      validation: report.test,
      test,
      seconds: (performance.now() - t0) / 1000,
    };
    if (data.bayes) run.bayesTestNe = data.bayes().ne;
    return run;
  } finally {
    trainer.dispose();
  }
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}%`;
const gap = (small: number, dense: number): number => (100 * (small - dense)) / dense;

async function main(): Promise<void> {
  const preset = SyntheticPreset.parse(values.preset);
  const seeds = list(values.seeds);
  const lrs = list(values.lrs);
  const s = {
    rows: list(values.rows)[0],
    testRows: list(values['test-rows'])[0],
    validationRows: list(values['validation-rows'])[0],
    lrSeeds: 1,
    agp: {},
    preset,
    syntheticOverrides: JSON.parse(values.overrides) as BenchScale['syntheticOverrides'],
  } as BenchScale;
  if (values.out !== undefined) await mkdir(dirname(values.out), { recursive: true });
  process.stdout.write(
    `probe ${preset} ${values.overrides}: ${s.rows} rows, seeds ${seeds.join(',')}, lr ${lrs.join(',')}\n`,
  );
  const runs: ProbeRun[] = [];
  const find = (arm: Arm, seed: number, lr: number): ProbeRun | undefined =>
    runs.find((r) => r.arm === arm && r.seed === seed && r.lr === lr);
  const first = seeds[0] as number;
  // The benchmark's rule: each method's lr by validation NE on the first seed (smaller on a tie).
  const chosen = (arm: Arm): number =>
    [...lrs]
      .sort((a, b) => a - b)
      .reduce((best, lr) =>
        (find(arm, first, lr)?.validation.ne ?? Infinity) <
        (find(arm, first, best)?.validation.ne ?? Infinity)
          ? lr
          : best,
      );
  for (const seed of seeds) {
    for (const arm of ['dense', 'small-dense'] as const) {
      // With --tune-on-first-seed, later seeds train only at the lr the first seed chose.
      const grid = values['tune-on-first-seed'] && seed !== first ? [chosen(arm)] : lrs;
      for (const lr of grid) {
        const r = await probeOne(s, arm, seed, lr);
        runs.push(r);
        if (values.out !== undefined)
          await appendFile(values.out, JSON.stringify({ ...s, ...r }) + '\n');
        process.stdout.write(
          `  seed ${seed} lr ${lr} ${arm.padEnd(11)} validation NE ${r.validation.ne.toFixed(4)} ` +
            `test NE ${r.test.ne.toFixed(4)} (Bayes ${r.bayesTestNe?.toFixed(4) ?? '-'}) ` +
            `AUC ${r.test.auc.toFixed(4)} calibration ${r.test.calibration.toFixed(3)} ` +
            `${r.seconds.toFixed(0)} s\n`,
        );
      }
    }
  }
  const gapAt = (seed: number, lrDense: number, lrSmall: number): number | undefined => {
    const d = find('dense', seed, lrDense);
    const sm = find('small-dense', seed, lrSmall);
    return d && sm ? gap(sm.test.ne, d.test.ne) : undefined;
  };
  const show = (g: number | undefined): string => (g === undefined ? '-' : pct(g));
  for (const lr of lrs) {
    const gaps = seeds.map((seed) => gapAt(seed, lr, lr));
    process.stdout.write(
      `gap at lr ${lr}: ${gaps.map(show).join(' / ')} (seeds ${seeds.join(' / ')})\n`,
    );
  }
  const ld = chosen('dense');
  const ls = chosen('small-dense');
  const tuned = seeds.map((seed) => gapAt(seed, ld, ls));
  process.stdout.write(
    `gap at tuned lr (dense ${ld}, small-dense ${ls}, by validation NE of seed ${seeds[0]}): ` +
      `${tuned.map(show).join(' / ')}; ${tuned.every((g) => g !== undefined && g >= 0.4) ? 'CAPACITY-BOUND' : 'not capacity-bound'} (≥ 0.4% on every seed)\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `regime-probe failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
