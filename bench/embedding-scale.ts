/**
 * Step cost versus embedding-table size: the reference DLRM config (bottom 13-512-256-64-16,
 * top 367-512-256-1, dim 16, SGD, batch 128) trained on random batches with
 *   small: 26 tables × 10^4 rows
 *   large: 2 tables × 10^7 rows + 24 tables × 10^4 rows (2 × 640 MB; 26 × 10^7 would need 16.6 GB)
 * The large tables' indices are uniform over all 10^7 rows, so every step touches cold rows.
 * Prints samples/s and the per-step split between tfjs tensor ops (forward, backward, dense
 * update) and the JS-side embedding gather and sparse update.
 *
 *   npm run bench:embedding -- [--backend wasm|cpu|tensorflow] [--steps 40] [--batch 128]
 */
import { parseArgs } from 'node:util';
import { ModelConfig } from '../schemas/model-config';
import type { ColumnarBatch } from '../src/data/batch';
import { initBackend, type BackendName } from '../src/model/backend';
import { createTrainer } from '../src/model/trainer';
import { createRng } from '../src/rng';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    steps: { type: 'string', default: '40' },
    batch: { type: 'string', default: '128' },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values.batch);

function batches(tableSizes: readonly number[], count: number): ColumnarBatch[] {
  const rng = createRng(42);
  const F = tableSizes.length;
  return Array.from({ length: count }, () => ({
    size: batchSize,
    numDense: 13,
    numSparse: F,
    dense: Float32Array.from({ length: batchSize * 13 }, () => Math.log1p(rng.next() * 100)),
    sparse: Int32Array.from({ length: batchSize * F }, (_, k) =>
      rng.int(tableSizes[k % F] as number),
    ),
    labels: Float32Array.from({ length: batchSize }, () => (rng.next() < 0.26 ? 1 : 0)),
  }));
}

interface Result {
  name: string;
  initSeconds: number;
  samplesPerSecond: number;
  msPerStep: number;
  msGather: number;
  msSparseUpdate: number;
  msTensorOps: number;
}

/** A trainer with timers around the store's gather and sparse update, and its batches. */
function setup(name: string, tableSizes: number[]) {
  const config = ModelConfig.parse({ tableSizes, batchSize });
  const t0 = performance.now();
  const trainer = createTrainer(config);
  const initSeconds = (performance.now() - t0) / 1000;
  const store = trainer.embeddings;
  const timers = { gather: 0, update: 0 };
  const gather = store.gather.bind(store);
  const apply = store.applyGradients.bind(store);
  store.gather = (sparse, b) => {
    const s = performance.now();
    const out = gather(sparse, b);
    timers.gather += performance.now() - s;
    return out;
  };
  store.applyGradients = (sparse, grad) => {
    const s = performance.now();
    apply(sparse, grad);
    timers.update += performance.now() - s;
  };
  const data = batches(tableSizes, 16);
  for (let i = 0; i < 5; i++) trainer.step(data[i % data.length] as ColumnarBatch);
  let next = 5;
  /** Runs `n` steps; returns [total, gather, update] milliseconds. */
  const run = (n: number): [number, number, number] => {
    timers.gather = 0;
    timers.update = 0;
    const start = performance.now();
    for (let i = 0; i < n; i++) trainer.step(data[next++ % data.length] as ColumnarBatch);
    return [performance.now() - start, timers.gather, timers.update];
  };
  return { name, initSeconds, run, dispose: () => trainer.dispose() };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Interleaves rounds of the two setups so that load from other processes hits both alike. */
function measure(setups: ReturnType<typeof setup>[]): Result[] {
  const rounds = 5;
  const per = Math.max(1, Math.round(steps / rounds));
  const samples = setups.map(() => [] as Array<[number, number, number]>);
  for (let r = 0; r < rounds; r++) setups.forEach((s, i) => samples[i]?.push(s.run(per)));
  return setups.map((s, i) => {
    const rows = samples[i] ?? [];
    const msPerStep = median(rows.map((x) => x[0])) / per;
    const msGather = median(rows.map((x) => x[1])) / per;
    const msSparseUpdate = median(rows.map((x) => x[2])) / per;
    return {
      name: s.name,
      initSeconds: s.initSeconds,
      samplesPerSecond: (batchSize * 1000) / msPerStep,
      msPerStep,
      msGather,
      msSparseUpdate,
      msTensorOps: msPerStep - msGather - msSparseUpdate,
    };
  });
}

async function main(): Promise<void> {
  const backend = await initBackend(values.backend as BackendName | undefined);
  const setups = [
    setup(
      '26 × 1e4 rows',
      Array.from({ length: 26 }, () => 10_000),
    ),
    setup('2 × 1e7 + 24 × 1e4 rows', [
      10_000_000,
      10_000_000,
      ...Array.from({ length: 24 }, () => 10_000),
    ]),
  ];
  const [small, large] = measure(setups) as [Result, Result];
  setups.forEach((s) => s.dispose());
  const fmt = (r: Result): string =>
    `${r.name.padEnd(24)} ${r.samplesPerSecond.toFixed(0).padStart(9)} ${r.msPerStep.toFixed(2).padStart(9)} ` +
    `${r.msTensorOps.toFixed(2).padStart(10)} ${r.msGather.toFixed(3).padStart(9)} ${r.msSparseUpdate.toFixed(3).padStart(9)} ${r.initSeconds.toFixed(1).padStart(7)}`;
  process.stdout.write(
    `backend ${backend}, batch ${batchSize}, ${steps} timed steps each (5 interleaved rounds, medians), reference DLRM config, SGD\n` +
      `${'tables'.padEnd(24)} ${'samples/s'.padStart(9)} ${'ms/step'.padStart(9)} ${'tensor ms'.padStart(10)} ${'gather ms'.padStart(9)} ${'update ms'.padStart(9)} ${'init s'.padStart(7)}\n` +
      `${fmt(small)}\n${fmt(large)}\n` +
      `step time ratio large/small: ${(large.msPerStep / small.msPerStep).toFixed(2)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
