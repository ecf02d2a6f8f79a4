import { STANDARD_NE } from './ne-definition';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { SplitConfig } from '../schemas/split';
import { parseTrainConfig, type TrainConfigInput } from '../schemas/train-config';
import { samplers } from '../src/cli/inspect';
import { inspectFile, type InspectReport } from '../src/data/inspect';
import { initBackend } from '../src/model/backend';
import { runOfflineTraining } from '../src/train/offline';
import { meanCi, type MeanCi } from './agp/stats';
import { byodLogs, type ByodLog, type TrapKind } from './byod/logs';
import { positionParts, writeSplitFiles, type PartRows } from './byod/split-files';
import { ensureByodVenv } from './byod/venv';

/*
 * `npm run bench:byod`: does a team that pastes what `agp inspect` suggests get a model as good
 * as a hand-written config's? On every real log the project has (the Criteo sample, MovieLens)
 * and on generated logs with planted traps, it trains the suggested config as is and a
 * hand-written one (same model, same split, same rows) over a few seeds, and LightGBM and
 * logistic regression (Python, bench/byod/baselines.py) on the same split files; it records test
 * NE (standard: training base rate) and AUC, the paired difference suggested − hand-written, and
 * which planted traps inspect flagged. Writes bench/results/byod.json. Small on purpose (every
 * log ≤ 100k rows, a small model): the machine is shared.
 */

const { values: flags } = parseArgs({
  options: { log: { type: 'string', multiple: true }, seeds: { type: 'string', default: '3' } },
});
/** `--seeds N` (default 3); `--log NAME` (repeatable) runs only those logs and writes no results file. */
const SEEDS = Array.from({ length: Number(flags.seeds) }, (_, i) => i + 1);
const WORK = join('.data', 'bench', 'byod');
const OUT = join('bench', 'results', 'byod.json');
/** The same model and schedule for both configs: only the data section differs. */
const TRAINING: Omit<TrainConfigInput, 'data'> = {
  model: { embeddingDim: 8, bottom: [32, 8], top: [32, 1], batchSize: 256 },
  agp: { schedule: 'dense' },
  epochs: 3,
  patience: 1,
  evalPoints: 0,
};

interface Run {
  seed: number;
  ne: number;
  neTestRate: number | null;
  auc: number;
  testRows: number;
  bestEpoch: number | null;
}

/** Whether inspect flagged a trap: dropped as an id, hashed as an id, left out as a leak, warned. */
function flagged(report: InspectReport, trap: { kind: TrapKind; column?: string }): boolean {
  const col = report.columns.find((c) => c.name === trap.column);
  switch (trap.kind) {
    case 'unique id':
      return col?.role === 'dropped' && /unique per row/.test(col.reason);
    case 'integer-coded id':
      return col?.role === 'categorical';
    case 'label-only timestamp':
    case 'value leak':
    case 'second timestamp':
      return col?.role === 'dropped' && col.leak;
    case 'shifted base rate':
      return report.warnings.some((w) => /base rate shifts/.test(w));
  }
}

async function train(name: string, data: TrainConfigInput['data'], seed: number): Promise<Run> {
  const config = parseTrainConfig(
    { ...TRAINING, name: `byod-${name}`, data, seed, outDir: join(WORK, 'run') },
    `bench:byod ${name}`,
  );
  const { report, trainer } = await runOfflineTraining(config);
  trainer.dispose();
  return {
    seed,
    ne: report.test.ne,
    neTestRate: report.test.neTestRate ?? null,
    auc: report.test.auc,
    testRows: report.test.rows,
    bestEpoch: report.validation?.bestEpoch ?? null,
  };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function benchLog(log: ByodLog, python: string): Promise<Record<string, unknown>> {
  const dir = resolve(WORK, log.name);
  await mkdir(dir, { recursive: true });
  const full = join(dir, 'log.csv');
  await writeFile(full, log.csv);
  const report = await inspectFile(full, samplers);
  if (report.features === null) throw new Error(`${log.name}: inspect found no label`);
  const traps = log.traps.map((t) => ({ ...t, flagged: flagged(report, t) }));

  // The suggested config as a user pastes it: its time split, or (no event time) the
  // offset/limit hold-out its note asks for, 80/10/10 by position.
  let suggested: TrainConfigInput['data'];
  let rows: PartRows;
  let splitNote: string;
  if (report.timeSplit !== null) {
    suggested = {
      train: report.source as never,
      split: report.timeSplit,
      features: report.features,
    };
    rows = await writeSplitFiles(dir, log.csv, SplitConfig.parse(report.timeSplit));
    splitNote = report.timeSplitNote;
  } else {
    const total = log.csv.trimEnd().split('\n').length - 1;
    const p = positionParts(total);
    const at = (offset: number, limit?: number) => ({
      ...(report.source as object),
      offset,
      ...(limit === undefined ? {} : { limit }),
    });
    suggested = {
      train: at(0, p.train) as never,
      validation: at(p.train, p.validation) as never,
      test: at(p.train + p.validation) as never,
      features: report.features,
    };
    rows = await writeSplitFiles(dir, log.csv, p);
    splitNote = `${report.timeSplitNote}; the bench holds out the newest 10% (test) and the 10% before (validation) by position`;
  }
  const csv = (part: string) => ({ kind: 'csv' as const, path: join(dir, `${part}.csv`) });
  const hand: TrainConfigInput['data'] = {
    train: csv('train'),
    validation: csv('validation'),
    test: csv('test'),
    features: log.features,
  };

  const runs = { suggested: [] as Run[], handWritten: [] as Run[] };
  for (const seed of SEEDS) {
    const s = await train(`${log.name}-suggested`, suggested, seed);
    const h = await train(`${log.name}-hand`, hand, seed);
    // Same rows: the split source and the split files must agree.
    if (s.testRows !== rows.test || h.testRows !== rows.test) {
      throw new Error(
        `${log.name}: test rows differ: split ${s.testRows}, files ${h.testRows}, expected ${rows.test}`,
      );
    }
    runs.suggested.push(s);
    runs.handWritten.push(h);
    process.stderr.write(
      `${log.name} seed ${seed}: suggested NE ${s.ne.toFixed(4)} AUC ${s.auc.toFixed(4)} | hand-written NE ${h.ne.toFixed(4)} AUC ${h.auc.toFixed(4)}\n`,
    );
  }

  const spec = join(dir, 'python-features.json');
  await writeFile(spec, JSON.stringify({ label: log.label, ...log.python }));
  const py = spawnSync(python, ['-m', 'baselines', dir, spec], {
    cwd: resolve('bench', 'byod'),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (py.status !== 0) throw new Error(`${log.name}: baselines.py failed:\n${py.stderr}`);
  const baselines = JSON.parse(py.stdout) as {
    rows: PartRows;
    lightgbm: { ne: number; auc: number };
    logisticRegression: { ne: number; auc: number };
  };
  if (baselines.rows.test !== rows.test || baselines.rows.train !== rows.train) {
    throw new Error(
      `${log.name}: the Python side read other rows: ${JSON.stringify(baselines.rows)}`,
    );
  }
  process.stderr.write(
    `${log.name}: LightGBM NE ${baselines.lightgbm.ne.toFixed(4)}, logistic regression NE ${baselines.logisticRegression.ne.toFixed(4)}\n`,
  );

  const relative = runs.suggested.map(
    (s, i) => (100 * (s.ne - (runs.handWritten[i] as Run).ne)) / (runs.handWritten[i] as Run).ne,
  );
  const diff: MeanCi = meanCi(relative);
  const summary = (rs: Run[]) => ({
    ne: mean(rs.map((r) => r.ne)),
    auc: mean(rs.map((r) => r.auc)),
  });
  return {
    log: log.name,
    origin: log.origin,
    rows,
    split: splitNote,
    traps,
    allTrapsFlagged: traps.every((t) => t.flagged),
    suggested: { ...summary(runs.suggested), runs: runs.suggested },
    handWritten: { ...summary(runs.handWritten), runs: runs.handWritten },
    lightgbm: baselines.lightgbm,
    logisticRegression: baselines.logisticRegression,
    neDiffSuggestedMinusHandPct: { mean: diff.mean, ci95: diff.ci, seeds: diff.n },
    withinOnePct: diff.mean <= 1,
  };
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg();
  const python = ensureByodVenv();
  const backend = await initBackend();
  const results = [];
  const only = flags.log;
  for (const log of await byodLogs()) {
    if (only === undefined || only.includes(log.name)) results.push(await benchLog(log, python));
  }
  const f = (x: number) => x.toFixed(4);
  const lines = [
    '| log | suggested NE / AUC | hand-written NE / AUC | Δ NE % (95% CI) | LightGBM NE / AUC | logistic reg. NE / AUC | traps flagged |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => {
      const x = r as {
        log: string;
        suggested: { ne: number; auc: number };
        handWritten: { ne: number; auc: number };
        lightgbm: { ne: number; auc: number };
        logisticRegression: { ne: number; auc: number };
        neDiffSuggestedMinusHandPct: { mean: number; ci95: [number, number] };
        traps: Array<{ flagged: boolean }>;
      };
      const d = x.neDiffSuggestedMinusHandPct;
      return `| ${x.log} | ${f(x.suggested.ne)} / ${f(x.suggested.auc)} | ${f(x.handWritten.ne)} / ${f(x.handWritten.auc)} | ${d.mean.toFixed(2)} (${d.ci95[0].toFixed(2)}, ${d.ci95[1].toFixed(2)}) | ${f(x.lightgbm.ne)} / ${f(x.lightgbm.auc)} | ${f(x.logisticRegression.ne)} / ${f(x.logisticRegression.auc)} | ${x.traps.filter((t) => t.flagged).length}/${x.traps.length} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (only !== undefined) return;
  await mkdir(join('bench', 'results'), { recursive: true });
  await writeFile(
    OUT,
    `${JSON.stringify(
      {
        v: 1,
        date: started.toISOString(),
        neDefinition: STANDARD_NE,
        machine: {
          cpus: cpus().length,
          loadavgBefore: loadBefore,
          loadavgAfter: loadavg(),
          node: process.version,
          backend,
          wallSeconds: (Date.now() - started.getTime()) / 1000,
        },
        note: "agp inspect's suggested config trained as is vs a hand-written one (same model, split and rows) and LightGBM / logistic regression on the same split files; NE is test NE (standard: log loss / entropy of the training rows' base rate); Δ NE % = 100 × (suggested − hand-written) / hand-written per seed, mean and 95% Student-t CI; target: Δ ≤ 1% on every log and every planted trap flagged. bench/byod.ts",
        seeds: SEEDS,
        training: TRAINING,
        target: {
          withinOnePctEveryLog: results.every((r) => (r as { withinOnePct: boolean }).withinOnePct),
          everyTrapFlagged: results.every(
            (r) => (r as { allTrapsFlagged: boolean }).allTrapsFlagged,
          ),
        },
        logs: results,
        table: lines,
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:byod: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
