/**
 * `npm run bench:throughput [-- --reps 3 --min-seconds 3 --table-rows 100000,1000000
 *   --batches 128,2048 --engines agp-tensorflow,pytorch,pytorch-passive
 *   --out bench/results/throughput.json]`
 *
 * Samples/s of full training steps of the reference Criteo Kaggle DLRM for this product on the
 * `tensorflow` (and optionally `wasm`) tfjs backend and for a PyTorch implementation of the same
 * model, run two ways: `pytorch` as users run it (OpenMP's default, spinning wait policy) and
 * `pytorch-passive` (OMP_WAIT_POLICY=PASSIVE: much slower at small batches on a quiet machine,
 * but the default collapses when other processes compete for the cores). Each measurement runs
 * in its own child process with the same thread count; engines are interleaved (rotating order
 * in every repetition) so that load from other processes spreads over all of them; the figure
 * is the median over repetitions. It also measures the machine's GEMM peak (TensorFlow's MatMul,
 * 2 threads) once and reports each row's achieved GFLOP/s (2 × the multiply-adds of
 * src/agp/flops.ts's step count per sample) as a fraction of it. Writes the JSON and prints the
 * ratios agp/pytorch. A quiet machine only: the default PyTorch policy spins.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { denseStepFlops } from '../../src/agp/flops';
import { ensureTorchVenv } from './torch-venv';
import {
  BOTTOM,
  NUM_DENSE,
  NUM_TABLES,
  RESULT_PREFIX,
  TOP,
  type Measurement,
  type Workload,
} from './workload';

const ENGINES = ['agp-tensorflow', 'agp-wasm', 'pytorch', 'pytorch-passive'] as const;
type Engine = (typeof ENGINES)[number];
/** What runs without --engines: the product's engine and PyTorch both ways. */
const DEFAULT_ENGINES: readonly Engine[] = ['agp-tensorflow', 'pytorch', 'pytorch-passive'];
const THREADS = 2;

/** Multiply-adds of one training step per sample of the reference model (full widths). */
const MACS_PER_SAMPLE = denseStepFlops(
  { numDense: NUM_DENSE, numTables: NUM_TABLES, bottom: BOTTOM, top: TOP },
  1,
).total;

interface Options {
  reps: number;
  minSeconds: number;
  tableRows: number[];
  batches: number[];
  engines: Engine[];
  out: string;
}

interface Row {
  engine: Engine;
  batch: number;
  tableRows: number;
  samplesPerSecond: number;
  /** Achieved GFLOP/s by the benchmark's FLOP count (2 per multiply-add). */
  gflops?: number;
  /** gflops / the measured GEMM peak. */
  fractionOfPeak?: number;
}

const root = path.resolve(__dirname, '..', '..');

function parseOptions(argv: readonly string[]): Options {
  const opts: Options = {
    reps: 3,
    minSeconds: 3,
    tableRows: [100_000, 1_000_000],
    batches: [128, 2048],
    engines: [...DEFAULT_ENGINES],
    out: path.join(root, 'bench', 'results', 'throughput.json'),
  };
  const ints = (flag: string, v: string): number[] =>
    v.split(',').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`${flag}: '${s}' is not a positive integer`);
      return n;
    });
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${String(flag)}: missing value`);
    if (flag === '--reps') opts.reps = ints(flag, value)[0] ?? 3;
    else if (flag === '--min-seconds') opts.minSeconds = Number(value);
    else if (flag === '--table-rows') opts.tableRows = ints(flag, value);
    else if (flag === '--batches') opts.batches = ints(flag, value);
    else if (flag === '--out') opts.out = path.resolve(value);
    else if (flag === '--engines') {
      opts.engines = value.split(',').map((e) => {
        if (!(ENGINES as readonly string[]).includes(e)) {
          throw new Error(`--engines: unknown engine '${e}' (use ${ENGINES.join(', ')})`);
        }
        return e as Engine;
      });
    } else throw new Error(`unknown option ${String(flag)}`);
  }
  if (!(opts.minSeconds > 0)) throw new Error('--min-seconds must be a positive number');
  return opts;
}

/** Runs one engine process and returns its measurements, or throws with its stderr. */
function runEngine(engine: Engine, workload: Workload, python: string): Measurement[] {
  const json = JSON.stringify(workload);
  const torch = engine === 'pytorch' || engine === 'pytorch-passive';
  const [cmd, args] = torch
    ? [python, [path.join(__dirname, 'pytorch_dlrm.py'), json]]
    : [
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(__dirname, 'agp-engine.ts'),
          engine === 'agp-tensorflow' ? 'tensorflow' : 'wasm',
          json,
        ],
      ];
  const res = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30 * 60 * 1000,
    env: engineEnv(engine),
  });
  const line = (res.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (res.status !== 0 || line === undefined) {
    const why = res.error?.message ?? `exit ${String(res.status)} ${String(res.signal ?? '')}`;
    throw new Error(
      `${engine} (${why}):\n${(res.stderr ?? '').trim().split('\n').slice(-12).join('\n')}`,
    );
  }
  return (JSON.parse(line.slice(RESULT_PREFIX.length)) as { results: Measurement[] }).results;
}

/**
 * The child's environment. PyTorch's OpenMP threads spin while waiting by default, which is how
 * users run it and fastest on a quiet machine; on a shared (loaded) host spinning costs it up to
 * 10× (measured: 400 vs 2,550 samples/s at batch 128), which `pytorch-passive` avoids.
 */
function engineEnv(engine: Engine): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', AGP_BACKEND: '' };
  delete env['OMP_WAIT_POLICY'];
  if (engine === 'pytorch-passive') env['OMP_WAIT_POLICY'] = 'PASSIVE';
  return env;
}

/** The GEMM peak (GFLOP/s) of TensorFlow's MatMul with THREADS threads; undefined if it fails. */
function gemmPeak(): number | undefined {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'gemm-peak.ts'), String(THREADS)],
    { cwd: root, encoding: 'utf8', env: engineEnv('agp-tensorflow'), timeout: 5 * 60 * 1000 },
  );
  const line = (res.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (res.status !== 0 || line === undefined) {
    process.stderr.write(
      `bench:throughput: GEMM peak not measured: ${(res.stderr ?? '').trim()}\n`,
    );
    return undefined;
  }
  return (JSON.parse(line.slice(RESULT_PREFIX.length)) as { gflops: number }).gflops;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Makes sure the tensorflow backend is provisioned (idempotent, ~1 s when it is). */
function provisionTensorflow(): string | undefined {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'infra', 'tensorflow', 'setup.ts')],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  return res.status === 0 ? undefined : `setup:tensorflow failed: ${(res.stderr ?? '').trim()}`;
}

function machine(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  const load = loadAverage();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB, ${os.platform()} ${os.release()}, node ${process.version}, load average at start ${load}`;
}

function main(): number {
  const opts = parseOptions(process.argv.slice(2));
  const machineAtStart = machine();
  const engines = [...opts.engines];
  if (engines.includes('agp-tensorflow')) {
    const problem = provisionTensorflow();
    if (problem !== undefined) {
      process.stderr.write(`bench:throughput: skipping agp-tensorflow: ${problem}\n`);
      engines.splice(engines.indexOf('agp-tensorflow'), 1);
    }
  }
  const python =
    engines.includes('pytorch') || engines.includes('pytorch-passive') ? ensureTorchVenv(root) : '';
  const peak = engines.includes('agp-tensorflow') ? gemmPeak() : undefined;
  if (peak !== undefined) {
    process.stdout.write(
      `GEMM peak (TensorFlow MatMul 2048×512×512, ${THREADS} threads): ${peak.toFixed(1)} GFLOP/s\n`,
    );
  }
  const wall = new Map<string, number[]>();
  const perCpu = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number): void => {
    m.set(k, [...(m.get(k) ?? []), v]);
  };
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const tableRows of opts.tableRows) {
      // Rotate the order so no engine always runs first (or right after a memory-heavy one).
      const order = engines.map((_, i) => engines[(i + rep) % engines.length] as Engine);
      for (const engine of order) {
        const workload: Workload = {
          tableRows,
          batches: opts.batches,
          warmupSteps: 2,
          minSeconds: opts.minSeconds,
          minSteps: 3,
          threads: THREADS,
          distinctBatches: 4,
          seed: 1 + rep,
        };
        const t0 = Date.now();
        const results = runEngine(engine, workload, python);
        for (const r of results) {
          push(wall, key(engine, tableRows, r.batch), r.samplesPerSecond);
          push(perCpu, key(engine, tableRows, r.batch), (r.steps * r.batch) / r.cpuSeconds);
        }
        const figures = results
          .map((r) => `b${r.batch} ${r.samplesPerSecond.toFixed(0)}/s`)
          .join(', ');
        process.stdout.write(
          `rep ${rep + 1}/${opts.reps} ${engine} tables ${tableRows}: ${figures} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
      }
    }
  }
  const rows = medianRows(wall, engines, opts).map((r) => {
    const gflops = (r.samplesPerSecond * MACS_PER_SAMPLE * 2) / 1e9;
    return {
      ...r,
      gflops: Number(gflops.toFixed(2)),
      ...(peak !== undefined ? { fractionOfPeak: Number((gflops / peak).toFixed(3)) } : {}),
    };
  });
  const cpuRows = medianRows(perCpu, engines, opts);
  const rounded = (m: Map<string, number[]>): Record<string, number[]> =>
    Object.fromEntries([...m].map(([k, xs]) => [k, xs.map(Math.round)]));
  const report = {
    machine: `${machineAtStart}; at end ${loadAverage()}`,
    ...(peak !== undefined ? { gemmPeakGflops: Number(peak.toFixed(1)) } : {}),
    flopsPerSample: MACS_PER_SAMPLE * 2,
    rows,
    repetitions: rounded(wall),
    // Samples per CPU-second of the engine's process (all threads): less sensitive than wall
    // time to other load on a shared machine, and what a per-core price pays for.
    samplesPerCpuSecond: cpuRows.map(({ samplesPerSecond, ...r }) => ({
      ...r,
      samplesPerCpuSecond: samplesPerSecond,
    })),
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  const where = path.relative(root, opts.out);
  printRatios(`median samples/s over ${opts.reps} repetitions (${where})`, rows, engines, opts);
  printRatios('median samples per CPU-second', cpuRows, engines, opts);
  return 0;
}

const key = (e: Engine, rows: number, batch: number): string => `${e}|${rows}|${batch}`;

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

function medianRows(m: Map<string, number[]>, engines: readonly Engine[], opts: Options): Row[] {
  const rows: Row[] = [];
  for (const engine of engines) {
    for (const tableRows of opts.tableRows) {
      for (const batch of opts.batches) {
        const xs = m.get(key(engine, tableRows, batch));
        if (xs !== undefined)
          rows.push({ engine, batch, tableRows, samplesPerSecond: Math.round(median(xs)) });
      }
    }
  }
  return rows;
}

function printRatios(
  title: string,
  rows: readonly Row[],
  engines: readonly Engine[],
  opts: Options,
): void {
  process.stdout.write(`\n${title}:\n`);
  for (const tableRows of opts.tableRows) {
    for (const batch of opts.batches) {
      const of = (e: Engine): number | undefined =>
        rows.find((r) => r.engine === e && r.batch === batch && r.tableRows === tableRows)
          ?.samplesPerSecond;
      const torch = of('pytorch');
      const passive = of('pytorch-passive');
      const cells = engines.map((e) => {
        const v = of(e);
        const vs = (base: number | undefined, name: string): string =>
          v !== undefined && base !== undefined && !e.startsWith('pytorch')
            ? ` ${(v / base).toFixed(2)}× ${name}`
            : '';
        const ratios = `${vs(torch, 'pytorch')}${vs(passive, 'pytorch-passive')}`;
        return `${e} ${v ?? '–'}${ratios ? ` (${ratios.trim()})` : ''}`;
      });
      process.stdout.write(`  tables ${tableRows}, batch ${batch}: ${cells.join(', ')}\n`);
    }
  }
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`bench:throughput: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
