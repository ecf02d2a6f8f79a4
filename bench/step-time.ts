/**
 * Time of one training step (`trainer.step`: gather, forward, backward, dense and sparse update)
 * of the reference DLRM (dim 16, bottom 13-…-16, top 367-…-1, SGD, 26 tables × 4,000 rows) at the
 * full width and at AGP's pruned widths, with the step as one TensorFlow graph (the default on
 * `tensorflow`) and as eager ops (AGP_TF_STEP=eager). It shows how closely a step's cost follows
 * the widths: the pruned/full ratio is what bounds AGP's wall-time saving. Each configuration
 * runs in a fresh process (a process's speed drifts run to run); median of `--steps` steps after
 * 30 warm-up steps.
 *
 *   npm run bench:step -- [--steps 300] [--batch 128] [--modes graph,eager]
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ModelConfig } from '../schemas/model-config';
import type { ColumnarBatch } from '../src/data/batch';
import { initBackend } from '../src/model/backend';
import { createTrainer } from '../src/model/trainer';
import { createRng } from '../src/rng';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '300' },
    batch: { type: 'string', default: '128' },
    modes: { type: 'string', default: 'graph,eager' },
    /** Internal: time one configuration given as JSON [bottom, top] and print the median ms. */
    one: { type: 'string' },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values.batch);
const TABLE_ROWS = 4000;

/** Hidden widths: full, and AGP's pruned widths at ratios 0.35 (the default) and 0.5. */
const WIDTHS: Array<[string, number[], number[]]> = [
  ['full', [512, 256, 64, 16], [512, 256, 1]],
  ['pruned 0.35', [333, 166, 42, 16], [333, 166, 1]],
  ['pruned 0.5', [256, 128, 32, 16], [256, 128, 1]],
];

async function timeOne(bottom: number[], top: number[]): Promise<number> {
  await initBackend('tensorflow');
  const config = ModelConfig.parse({ tableSizes: Array(26).fill(TABLE_ROWS), bottom, top });
  const rng = createRng(1);
  const trainer = createTrainer(config, { rng });
  const batches: ColumnarBatch[] = Array.from({ length: 8 }, () => ({
    size: batchSize,
    numDense: 13,
    numSparse: 26,
    dense: Float32Array.from({ length: batchSize * 13 }, () => rng.next() * 3),
    sparse: Int32Array.from({ length: batchSize * 26 }, () => rng.int(TABLE_ROWS)),
    labels: Float32Array.from({ length: batchSize }, () => (rng.next() < 0.25 ? 1 : 0)),
  }));
  const ms: number[] = [];
  for (let i = 0; i < steps + 30; i++) {
    const t = performance.now();
    trainer.step(batches[i % batches.length] as ColumnarBatch);
    if (i >= 30) ms.push(performance.now() - t);
  }
  trainer.dispose();
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)] as number;
}

function main(): void {
  for (const mode of values.modes.split(',')) {
    let full = NaN;
    for (const [name, bottom, top] of WIDTHS) {
      const out = execFileSync(
        process.execPath,
        [
          ...process.execArgv,
          __filename,
          '--one',
          JSON.stringify([bottom, top]),
          '--steps',
          String(steps),
          '--batch',
          String(batchSize),
        ],
        {
          env: { ...process.env, AGP_TF_STEP: mode, TF_CPP_MIN_LOG_LEVEL: '2' },
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      const median = Number(out.toString().trim().split('\n').pop());
      if (name === 'full') full = median;
      process.stdout.write(
        `${mode.padEnd(6)} ${name.padEnd(12)} ${median.toFixed(2).padStart(7)} ms   ${(median / full).toFixed(2)}× full\n`,
      );
    }
  }
}

if (values.one !== undefined) {
  const [bottom, top] = JSON.parse(values.one) as [number[], number[]];
  timeOne(bottom, top).then(
    (median) => process.stdout.write(`${median}\n`),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
} else {
  main();
}
