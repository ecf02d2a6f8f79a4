/**
 * Where one training step's time goes on the `tensorflow` backend:
 *
 *   npm run bench:profile -- [--batches 128,2048] [--rows 100000] [--steps 300] [--rounds 3]
 *     [--widths full,pruned] [--optimizers sgd|default] [--peak <GFLOP/s>]
 *
 * Builds the throughput benchmark's DLRM (bench/throughput/workload.ts) at full width and at
 * AGP's widths for pruning ratio 0.35 (those of bench/step-time.ts), one trainer per
 * (batch, widths), and times `trainer.step` on synthetic batches cycled as the benchmark does.
 * The configurations are interleaved: `rounds` rounds of steps/rounds timed steps each, so load
 * from other processes spreads over all of them. phase-clock.ts books every step's wall time
 * into phases (gather, feeds, session run, fetch, embedding update, dispose, rest of the JS) and
 * counts V8's GC pauses, which overlap those phases (a pause lands in whichever phase allocated).
 * Inside the session run TensorFlow gives no per-op times through tfjs-node's binding, so the
 * table sets the run against the step's FLOPs: its achieved GFLOP/s and the time the same FLOPs
 * take at the GEMM peak (`--peak`, by default bench/results/throughput.json's gemmPeakGflops).
 * `--optimizers default` trains with the product's default optimizers (Adam for the dense
 * weights, a second session run; row-wise Adagrad for the embeddings) as `npm run bench:step`
 * does, instead of the throughput benchmark's SGD. Prints figures; a benchmark, not a test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { parseModelConfig } from '../../schemas/model-config';
import { stepFlops } from '../../src/agp/flops';
import type { ColumnarBatch } from '../../src/data/batch';
import { initBackend } from '../../src/model/backend';
import { createTrainer, type Trainer } from '../../src/model/trainer';
import { createRng, type Rng } from '../../src/rng';
import { createPhaseClock, PHASE_LEGEND, PHASES, type PhaseTotals } from './phase-clock';
import { BOTTOM, EMBEDDING_DIM, LR, NUM_DENSE, NUM_TABLES, TOP } from './workload';

/** Hidden widths at AGP's default pruning ratio 0.35 (65% of each hidden layer kept). */
const PRUNED = { bottom: [333, 166, 42, 16], top: [333, 166, 1] };
const DISTINCT_BATCHES = 4;
const WARMUP_STEPS = 30;

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '128,2048' },
    rows: { type: 'string', default: '100000' },
    steps: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    widths: { type: 'string', default: 'full,pruned' },
    optimizers: { type: 'string', default: 'sgd' },
    peak: { type: 'string' },
  },
});

interface Config {
  label: string;
  batch: number;
  bottom: number[];
  top: number[];
  trainer: Trainer;
  batches: ColumnarBatch[];
  next: number;
  totals: PhaseTotals;
  stepMs: number[];
  gcMs: number;
  gcCount: number;
  /** CPU ms of the process (every thread) over the timed steps: less sensitive to a shared machine. */
  cpuMs: number;
}

function syntheticBatch(size: number, tableRows: number, rng: Rng): ColumnarBatch {
  const dense = new Float32Array(size * NUM_DENSE).map(() => rng.next());
  const sparse = new Int32Array(size * NUM_TABLES).map(() => Math.floor(rng.next() * tableRows));
  const labels = new Float32Array(size).map(() => (rng.next() < 0.25 ? 1 : 0));
  return { size, dense, sparse, labels, numDense: NUM_DENSE, numSparse: NUM_TABLES };
}

function gemmPeak(): number {
  if (values.peak !== undefined) return Number(values.peak);
  const file = path.join(__dirname, '..', 'results', 'throughput.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { gemmPeakGflops?: number };
  if (typeof json.gemmPeakGflops !== 'number') throw new Error(`${file}: no gemmPeakGflops`);
  return json.gemmPeakGflops;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? Number.NaN;
}

function printTable(configs: readonly Config[], peak: number, rows: number): void {
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  const col = (s: string): string => s.padStart(17);
  out(
    `\nms per step (mean over timed steps) and share of the step; tables ${NUM_TABLES}×${rows}, ` +
      `optimizers ${values.optimizers}, ` +
      `dim ${EMBEDDING_DIM}, GEMM peak ${peak.toFixed(0)} GFLOP/s`,
  );
  out(`${''.padEnd(24)}${configs.map((c) => col(c.label)).join('')}`);
  const meanStep = (c: Config): number => c.stepMs.reduce((s, x) => s + x, 0) / c.stepMs.length;
  for (const p of PHASES) {
    const cells = configs.map((c) => {
      const ms = c.totals[p] / c.stepMs.length;
      return col(`${ms.toFixed(2)} ${((100 * ms) / meanStep(c)).toFixed(0).padStart(3)}%`);
    });
    out(`${p.padEnd(24)}${cells.join('')}`);
  }
  out(`${'step, mean'.padEnd(24)}${configs.map((c) => col(meanStep(c).toFixed(2))).join('')}`);
  out(
    `${'step, median'.padEnd(24)}${configs.map((c) => col(median(c.stepMs).toFixed(2))).join('')}`,
  );
  out(
    `${'CPU ms (all threads)'.padEnd(24)}${configs.map((c) => col((c.cpuMs / c.stepMs.length).toFixed(2))).join('')}`,
  );
  out(
    `${'(g) GC pauses (overlap)'.padEnd(24)}${configs
      .map((c) => {
        const ms = c.gcMs / c.stepMs.length;
        return col(`${ms.toFixed(2)} ${((100 * ms) / meanStep(c)).toFixed(0).padStart(3)}%`);
      })
      .join('')}`,
  );
  out(
    `${'GC pauses per step'.padEnd(24)}${configs.map((c) => col((c.gcCount / c.stepMs.length).toFixed(2))).join('')}`,
  );
  const flops = (c: Config): number =>
    2 *
    stepFlops(
      { numDense: NUM_DENSE, numTables: NUM_TABLES, bottom: BOTTOM, top: TOP },
      Object.fromEntries([
        ...c.bottom.slice(0, -1).map((w, i) => [`bottom.${i}`, w]),
        ...c.top.slice(0, -1).map((w, i) => [`top.${i}`, w]),
      ]),
      c.batch,
    ).total;
  out(
    `${'GFLOP per step'.padEnd(24)}${configs.map((c) => col((flops(c) / 1e9).toFixed(3))).join('')}`,
  );
  out(
    `${'same FLOPs at peak, ms'.padEnd(24)}${configs.map((c) => col(((flops(c) / peak / 1e9) * 1e3).toFixed(2))).join('')}`,
  );
  out(
    `${'session GFLOP/s'.padEnd(24)}${configs
      .map((c) => col((flops(c) / 1e6 / (c.totals.session / c.stepMs.length)).toFixed(0)))
      .join('')}`,
  );
  out(
    `${'step GFLOP/s (% peak)'.padEnd(24)}${configs
      .map((c) => {
        const g = flops(c) / 1e6 / median(c.stepMs);
        return col(`${g.toFixed(0)} ${((100 * g) / peak).toFixed(0).padStart(3)}%`);
      })
      .join('')}`,
  );
  out(
    `${'samples/s (median step)'.padEnd(24)}${configs.map((c) => col(((c.batch / median(c.stepMs)) * 1e3).toFixed(0))).join('')}`,
  );
  const full = configs.filter((c) => c.label.startsWith('full'));
  for (const c of configs.filter((x) => x.label.startsWith('pruned'))) {
    const f = full.find((x) => x.batch === c.batch);
    if (f !== undefined) {
      out(
        `pruned/full at batch ${c.batch}: ${(median(c.stepMs) / median(f.stepMs)).toFixed(3)}× ` +
          `the median step for ${(flops(c) / flops(f)).toFixed(3)}× the FLOPs`,
      );
    }
  }
  out('\nphases:');
  for (const p of PHASES) out(`  ${p.padEnd(9)} ${PHASE_LEGEND[p]}`);
}

async function main(): Promise<void> {
  if (values.optimizers !== 'sgd' && values.optimizers !== 'default') {
    throw new Error(`--optimizers: '${values.optimizers}' (use sgd, default)`);
  }
  const rows = Number(values.rows);
  const steps = Number(values.steps);
  const rounds = Number(values.rounds);
  // Those of the throughput benchmark's engine (agp-engine.ts), read when TensorFlow starts.
  process.env['TF_NUM_INTRAOP_THREADS'] ??= '2';
  process.env['TF_NUM_INTEROP_THREADS'] ??= '1';
  process.env['OMP_NUM_THREADS'] ??= '2';
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  if ((await initBackend('tensorflow')) !== 'tensorflow') throw new Error('no tensorflow backend');
  const backend = tf.backend() as unknown as { binding?: object };
  if (backend.binding === undefined) throw new Error('the tensorflow backend exposes no binding');
  const clock = createPhaseClock(backend as { binding: object });
  const rng = createRng(1);
  const configs: Config[] = [];
  for (const batch of values.batches.split(',').map(Number)) {
    for (const w of values.widths.split(',')) {
      if (w !== 'full' && w !== 'pruned') throw new Error(`--widths: '${w}' (use full, pruned)`);
      const { bottom, top } = w === 'full' ? { bottom: BOTTOM, top: TOP } : PRUNED;
      const trainer = createTrainer(
        parseModelConfig({
          numDense: NUM_DENSE,
          tableSizes: Array.from({ length: NUM_TABLES }, () => rows),
          embeddingDim: EMBEDDING_DIM,
          bottom,
          top,
          ...(values.optimizers === 'default'
            ? {}
            : {
                denseOptimizer: { kind: 'sgd', lr: LR },
                embeddingOptimizer: { kind: 'sgd', lr: LR },
              }),
          seed: 1,
        }),
        { rng },
      );
      clock.watch(trainer.embeddings);
      configs.push({
        label: `${w === 'full' ? 'full' : 'pruned .35'} B=${batch}`,
        batch,
        bottom,
        top,
        trainer,
        batches: Array.from({ length: DISTINCT_BATCHES }, () => syntheticBatch(batch, rows, rng)),
        next: 0,
        totals: Object.fromEntries(PHASES.map((p) => [p, 0])) as PhaseTotals,
        stepMs: [],
        gcMs: 0,
        gcCount: 0,
        cpuMs: 0,
      });
    }
  }
  const stepOf = (c: Config) => (): void => {
    c.trainer.step(c.batches[c.next++ % c.batches.length] as ColumnarBatch);
  };
  for (const c of configs) for (let i = 0; i < WARMUP_STEPS; i++) stepOf(c)();
  const perRound = Math.ceil(steps / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      clock.reset();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < perRound; i++) clock.step(stepOf(c));
      const cpu = process.cpuUsage(cpu0);
      c.cpuMs += (cpu.user + cpu.system) / 1e3;
      const got = await clock.read();
      for (const p of PHASES) c.totals[p] += got.totals[p];
      c.stepMs.push(...got.stepMs);
      c.gcMs += got.gcMs;
      c.gcCount += got.gcCount;
    }
  }
  clock.close();
  printTable(configs, gemmPeak(), rows);
  for (const c of configs) c.trainer.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `profile-step: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
