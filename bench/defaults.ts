import { STANDARD_NE } from './ne-definition';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REFERENCE_OPTIMIZERS, type ModelOverridesInput } from '../schemas/model-config';
import { parseTrainConfig, type TrainConfigInput } from '../schemas/train-config';
import { initBackend } from '../src/model/backend';
import { runOfflineTraining } from '../src/train/offline';
import { sharedDataPath } from '../test/shared-data';
import { categoricalRows } from '../test/unit/train/generated-logs';

/*
 * `npm run bench:defaults`: which optimizers should a model get when its config names none?
 * Short offline runs with the default architecture and schedule on three datasets (the Criteo
 * sample, MovieLens, a synthetic preset, a generated all-categorical log whose signal is only in
 * a user × item pair), each under a few optimizer settings, scored by test
 * NE (< 1: learned something; ≈ 1: predicts the base rate). Writes bench/results/defaults.json
 * and prints the table. Small on purpose: the machine is shared.
 */

type Data = TrainConfigInput['data'];

const criteo = sharedDataPath('criteo-first10k', 'train-first10k.tsv');
const movielens = sharedDataPath('movielens-latest-small');
const GENERATED = join('.data', 'bench', 'defaults', 'user-item.tsv');
const DATASETS: Record<string, Data> = {
  'criteo-10k (8k/2k)': {
    train: { kind: 'criteo-tsv', path: criteo, limit: 8000 },
    test: { kind: 'criteo-tsv', path: criteo, offset: 8000 },
  },
  'movielens (time split 0.8)': {
    train: { kind: 'movielens', dir: movielens, split: 'train' },
    test: { kind: 'movielens', dir: movielens, split: 'test' },
  },
  'synthetic criteo-like (40k/10k)': {
    train: { kind: 'synthetic', preset: 'criteo-like', rows: 40_000, seed: 1, split: 'train' },
    test: { kind: 'synthetic', preset: 'criteo-like', rows: 10_000, seed: 1, split: 'test' },
  },
  'generated user×item, all-categorical (12k/3k)': {
    train: { kind: 'criteo-tsv', path: GENERATED, limit: 12_000 },
    test: { kind: 'criteo-tsv', path: GENERATED, offset: 12_000 },
    features: {
      dense: [],
      sparse: [
        { name: 'user', buckets: 1000 },
        { name: 'item', buckets: 1000 },
        { name: 'site', buckets: 50 },
      ],
    },
  },
};

/** The candidates: the DLRM reference, and adaptive optimizers on either side. */
const OPTIMIZERS: Record<string, ModelOverridesInput> = {
  'reference: sgd 0.1 / sgd 0.1': REFERENCE_OPTIMIZERS,
  'sgd 0.1 / rowwise-adagrad 0.05': {
    denseOptimizer: { kind: 'sgd', lr: 0.1 },
    embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.05 },
  },
  'adam 0.001 / sgd 0.1': {
    denseOptimizer: { kind: 'adam', lr: 0.001 },
    embeddingOptimizer: { kind: 'sgd', lr: 0.1 },
  },
  'adam 0.001 / rowwise-adagrad 0.01': {
    denseOptimizer: { kind: 'adam', lr: 0.001 },
    embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.01 },
  },
  'adam 0.001 / rowwise-adagrad 0.05': {
    denseOptimizer: { kind: 'adam', lr: 0.001 },
    embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.05 },
  },
  'adam 0.001 / rowwise-adagrad 0.1': {
    denseOptimizer: { kind: 'adam', lr: 0.001 },
    embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.1 },
  },
  'adam 0.001 / rowwise-adagrad 0.2': {
    denseOptimizer: { kind: 'adam', lr: 0.001 },
    embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.2 },
  },
};

const SEEDS = [1, 2];

interface Row {
  dataset: string;
  optimizers: string;
  seed: number;
  testNe: number;
  testAuc: number;
  steps: number;
  wallSeconds: number;
}

async function main(): Promise<void> {
  await mkdir(join('.data', 'bench', 'defaults'), { recursive: true });
  await writeFile(GENERATED, categoricalRows(15_000, 1).join('\n') + '\n');
  const backend = await initBackend();
  const rows: Row[] = [];
  for (const [dataset, data] of Object.entries(DATASETS)) {
    for (const [optimizers, model] of Object.entries(OPTIMIZERS)) {
      for (const seed of SEEDS) {
        const config = parseTrainConfig(
          {
            name: 'defaults',
            data,
            model,
            evalPoints: 0,
            seed,
            outDir: join('.data', 'bench', 'defaults', 'run'),
          },
          `bench:defaults ${dataset}`,
        );
        const { report, trainer } = await runOfflineTraining(config, { backend });
        trainer.dispose();
        rows.push({
          dataset,
          optimizers,
          seed,
          testNe: report.test.ne,
          testAuc: report.test.auc,
          steps: report.steps,
          wallSeconds: report.wallSeconds,
        });
        process.stderr.write(
          `${dataset} | ${optimizers} | seed ${seed}: NE ${report.test.ne.toFixed(4)} (${report.wallSeconds.toFixed(1)} s)\n`,
        );
      }
    }
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = Object.keys(DATASETS).flatMap((dataset) =>
    Object.keys(OPTIMIZERS).map((optimizers) => {
      const rs = rows.filter((r) => r.dataset === dataset && r.optimizers === optimizers);
      return {
        dataset,
        optimizers,
        meanTestNe: mean(rs.map((r) => r.testNe)),
        meanTestAuc: mean(rs.map((r) => r.testAuc)),
      };
    }),
  );
  const names = Object.keys(OPTIMIZERS);
  const header = `| dataset | ${names.join(' | ')} |`;
  const lines = [
    'test NE (mean of seeds ' + SEEDS.join(', ') + '; dense / embedding optimizer, lr)',
    header,
    `|${' --- |'.repeat(names.length + 1)}`,
    ...Object.keys(DATASETS).map(
      (dataset) =>
        `| ${dataset} | ${names
          .map((o) => {
            const s = summary.find((x) => x.dataset === dataset && x.optimizers === o);
            return (s?.meanTestNe ?? Number.NaN).toFixed(4);
          })
          .join(' | ')} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  await mkdir(join('bench', 'results'), { recursive: true });
  await writeFile(
    join('bench', 'results', 'defaults.json'),
    JSON.stringify(
      {
        v: 1,
        date: new Date().toISOString(),
        neDefinition: STANDARD_NE,
        backend,
        note: 'default architecture and AGP schedule, one epoch, evalPoints 0; bench/defaults.ts',
        seeds: SEEDS,
        summary,
        runs: rows,
      },
      null,
      2,
    ) + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:defaults: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
