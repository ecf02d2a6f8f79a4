/**
 * The AGP benchmark (`npm run bench:agp`), as issue 11 and DESIGN.md (2026-12-01) define it:
 *
 * 1. learning rates: every method (dense, agp, prune-only, small-dense) at its own best lr from
 *    a grid ({0.05, 0.1, 0.2, 0.4}, widened by ×2 while the best is at an edge), chosen by NE on
 *    a validation split (seed 1000+s of the teacher's test stream) — cached in
 *    bench/results/agp-lr.json and reused unless `--search-lr` (or its inputs changed);
 * 2. headline: the four methods on seeds 1–5, synthetic `capacity-bound-v2` (DEFAULT_PRESET in
 *    bench/agp/plan.ts; `--preset` picks another) (1M rows, one pass,
 *    100k test rows), `small-dense` FLOPs-matched to agp; every model then continues on 500k
 *    fresh rows of the same stream at its own lr, each batch scored before it trains;
 * 3. the regime check (dense vs small-dense ×0.70 on every seed) and the frontier (small-dense
 *    ×{0.5, 0.6, 0.7, 0.85}, prune-only and agp at ratios {0.2, 0.35, 0.5}, seeds 1–2);
 * 4. the headline again on the real Criteo sample (rows 0–8k train, 8k–10k test; its lr
 *    search trains on 0–6k and validates on 6k–8k);
 * then writes bench/results/agp.json (the issue's schema), agp-frontier.svg (+ its Vega-Lite
 * spec) and prints the tables with paired differences and 95% CIs.
 *
 * Every run trains in a fresh child process (this file with `--one`): run one after another in
 * one process, the heap and caches earlier runs leave behind changed the same run's wall time
 * by a third. Every finished run is written to a progress file at once, so an interrupted
 * benchmark started again with the same options continues where it stopped.
 * `--quick` is for iterating (small rows and seeds, written under .data/bench/), not the result.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAgpConfig, type AgpConfigInput } from '../schemas/agp-config';
import { SyntheticPreset } from '../schemas/synthetic';
import { frontierSpec, renderSvg } from './agp/chart';
import { cachedChoice, readLrCache, searchLr, writeLrCache, type LrChoice } from './agp/lr-search';
import { DEFAULT_PRESET, jobCost, mainJobs, type BenchScale } from './agp/plan';
import { runJob } from './agp/run-one';
import { openRunStore } from './agp/store';
import { benchJson, formatTables } from './agp/summary';
import { METHODS, type BenchJob, type BenchRun, type Dataset, type Method } from './agp/types';

/** The Criteo sample: `shared/` beside the clone, else the workplace's /work/shared. */
function criteoSample(): string {
  const parts = ['data', 'criteo-first10k', 'train-first10k.tsv'];
  const beside = join(__dirname, '..', '..', 'shared', ...parts);
  return existsSync(beside) ? beside : join('/work/shared', ...parts);
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'search-lr': { type: 'boolean', default: false },
    rows: { type: 'string' },
    'test-rows': { type: 'string' },
    'validation-rows': { type: 'string' },
    'continue-rows': { type: 'string' },
    seeds: { type: 'string' },
    'frontier-seeds': { type: 'string' },
    'lr-seeds': { type: 'string' },
    'lr-grid': { type: 'string' },
    'skip-criteo': { type: 'boolean', default: false },
    /** The synthetic preset (default DEFAULT_PRESET in bench/agp/plan.ts). */
    preset: { type: 'string' },
    /** JSON merged into the `agp` schedule's config (a variant), e.g. '{"cycles":3}'. */
    agp: { type: 'string' },
    criteo: {
      type: 'string',
      default: criteoSample(),
    },
    /** Where agp.json, the chart, agp-lr.json and the progress file go. */
    'out-dir': { type: 'string' },
    /** Only plan and print the jobs and their cost. */
    'dry-run': { type: 'boolean', default: false },
    /**
     * Stop after the learning-rate search. The search's figures are validation NE only, which no
     * other load on the machine changes, so it can run while the machine is busy; the timed
     * runs after it need a quiet machine.
     */
    'lr-only': { type: 'boolean', default: false },
    /**
     * The lifecycle benchmark (issue 22, bench/agp/lifecycle.ts) instead of the offline one:
     * offline, then `--drift-rows` drifting rows through the recurring training loop.
     */
    lifecycle: { type: 'boolean', default: false },
    'drift-rows': { type: 'string' },
    'segment-rows': { type: 'string' },
    'sanity-rows': { type: 'string' },
    'validation-test-rows': { type: 'string' },
    /** Names of the recurring candidates to try (default: all of lifecycleCandidates). */
    candidates: { type: 'string' },
    /** Skip the per-method tuned view (its extra drifting runs). */
    'skip-tuned': { type: 'boolean', default: false },
    /** Lifecycle methods, comma-separated (default: all of LIFECYCLE_METHODS). */
    methods: { type: 'string' },
    /** The dense lr every recurring candidate's scales multiply (all methods alike). */
    'recurring-base-lr': { type: 'string' },
    /** Base name of the lifecycle's JSON and charts. @default agp-lifecycle */
    'out-name': { type: 'string' },
    /** Internal: train the one job given as JSON and print its BenchRun. */
    one: { type: 'string' },
  },
});

function num(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`bench:agp: '${v}' is not a number`);
  return n;
}

function presetOf(v: string | undefined): SyntheticPreset {
  if (v === undefined) return DEFAULT_PRESET;
  const p = SyntheticPreset.safeParse(v);
  if (!p.success) {
    throw new Error(
      `bench:agp: --preset '${v}' is not one of ${SyntheticPreset.options.join(', ')}`,
    );
  }
  return p.data;
}

function scaleOf(): BenchScale {
  const q = values.quick;
  return {
    rows: num(values.rows, q ? 60_000 : 1_000_000),
    testRows: num(values['test-rows'], q ? 20_000 : 100_000),
    validationRows: num(values['validation-rows'], q ? 20_000 : 50_000),
    continueRows: num(values['continue-rows'], q ? 30_000 : 500_000),
    seeds: num(values.seeds, q ? 2 : 5),
    frontierSeeds: num(values['frontier-seeds'], q ? 1 : 2),
    lrSeeds: num(values['lr-seeds'], 1),
    lrGrid: (values['lr-grid'] ?? '0.05,0.1,0.2,0.4').split(',').map(Number),
    smallDenseWidths: [0.5, 0.6, 0.7, 0.85],
    frontierRatios: [0.2, 0.35, 0.5],
    criteoPath: values.criteo,
    criteo: !values['skip-criteo'],
    agp: agpVariant(values.agp),
    preset: presetOf(values.preset),
  };
}

/** Runs one job in a fresh node process and returns its BenchRun (the last stdout line). */
async function runInChild(job: BenchJob): Promise<BenchRun> {
  const args = [...process.execArgv, __filename, '--one', JSON.stringify(job)];
  const child = execFile(process.execPath, args, { maxBuffer: 64 << 20 });
  child.stderr?.pipe(process.stderr);
  const stdout: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = stdout.join('').trim().split('\n').pop() ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`the ${job.config.name ?? job.schedule} run exited with ${String(code)}`);
  }
  return JSON.parse(last) as BenchRun;
}

function describe(job: BenchJob): string {
  const tag = job.ratio !== undefined && job.kind === 'frontier' ? ` r${job.ratio}` : '';
  const w = job.widthMultiplier !== undefined ? ` ×${job.widthMultiplier}` : '';
  return `${job.kind} ${job.dataset} ${job.schedule}${tag}${w} seed ${job.seed} lr ${job.lr}`;
}

function hms(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m${String(s % 60).padStart(2, '0')}s`;
}

async function main(): Promise<void> {
  const s = scaleOf();
  const outDir =
    values['out-dir'] ??
    (values.quick ? join('.data', 'bench', 'agp-quick') : join(__dirname, 'results'));
  await mkdir(outDir, { recursive: true });
  const store = await openRunStore(join(outDir, 'agp.progress.json'));
  const lrPath = join(outDir, 'agp-lr.json');
  const cache = values['search-lr'] ? {} : await readLrCache(lrPath);
  const datasets: Dataset[] = s.criteo ? ['synthetic', 'criteo'] : ['synthetic'];

  // The ETA: seconds per cost unit of the runs this process trained, times the units left.
  const t0 = performance.now();
  let unitsDone = 0;
  let unitsLeft = 0;
  const run = async (job: BenchJob): Promise<BenchRun> => {
    const stored = store.get(job);
    if (stored !== undefined) return stored;
    if (values['dry-run']) {
      process.stdout.write(`would run: ${describe(job)}\n`);
      return { test: { ne: Number.NaN } } as BenchRun;
    }
    const cost = jobCost(job, s);
    const elapsed = (performance.now() - t0) / 1000;
    const eta = unitsDone > 0 ? hms((elapsed / unitsDone) * Math.max(unitsLeft, cost)) : '?';
    process.stderr.write(`[${hms(elapsed)} elapsed, ETA ${eta}] ${describe(job)} …\n`);
    const r = await runInChild(job);
    await store.put(job, r);
    unitsDone += cost;
    unitsLeft = Math.max(0, unitsLeft - cost);
    process.stderr.write(
      `  → test NE ${r.test.ne.toFixed(4)} FLOPs ${(r.trainFlops / r.denseEquivalentFlops).toFixed(3)}× ` +
        `wall ${r.wallSeconds.toFixed(1)} s` +
        (r.continued
          ? `; continued: progressive NE ${r.continued.progressiveNe.toFixed(4)}, test NE ${r.continued.testNe.toFixed(4)}`
          : '') +
        '\n',
    );
    return r;
  };

  // 1. Learning rates (cached per dataset and method; a changed config searches again).
  const lr = { synthetic: {}, criteo: {} } as Record<Dataset, Record<Method, number>>;
  for (const dataset of datasets) {
    for (const m of METHODS) {
      let choice: LrChoice | undefined = cachedChoice(cache, s, dataset, m);
      if (choice === undefined) {
        // A rough ETA before any run finished: the grid's cost.
        unitsLeft += s.lrGrid.length * s.lrSeeds * (dataset === 'synthetic' ? s.rows : 6000);
        choice = await searchLr(s, dataset, m, run);
        (cache[dataset] ??= {})[m] = choice;
        if (!values['dry-run']) await writeLrCache(lrPath, cache);
      }
      lr[dataset][m] = choice.lr;
      process.stderr.write(
        `lr ${dataset} ${m}: ${choice.lr} (validation NE ${choice.grid.map((g) => `${g.lr}: ${g.validationNe.toFixed(4)}`).join(', ')})\n`,
      );
    }
  }
  if (!s.criteo) lr.criteo = { ...lr.synthetic };
  if (values['lr-only']) return;

  // 2–4. Headline, regime check, frontier, Criteo.
  const jobs = mainJobs(s, lr);
  const todo = jobs.filter((j) => store.get(j) === undefined);
  unitsLeft = todo.reduce((a, j) => a + jobCost(j, s), 0);
  process.stderr.write(`${jobs.length} runs, ${jobs.length - todo.length} already done\n`);
  const runs: BenchRun[] = [];
  for (const job of jobs) runs.push(await run(job));
  if (values['dry-run']) return;

  const lrRuns = [...datasets].flatMap((d) =>
    METHODS.map((m) => ({ dataset: d, method: m, ...cache[d]?.[m] })),
  );
  const json = benchJson({ runs, scale: s, lr, lrSearch: lrRuns });
  await writeFile(join(outDir, 'agp.json'), JSON.stringify(json, null, 2) + '\n');
  const spec = frontierSpec(
    json.frontier,
    `AGP frontier: synthetic ${s.preset}, ${s.rows.toLocaleString('en')} rows, one pass, tuned lr`,
  );
  await writeFile(join(outDir, 'agp-frontier.vl.json'), JSON.stringify(spec, null, 2) + '\n');
  await writeFile(join(outDir, 'agp-frontier.svg'), await renderSvg(spec));
  process.stdout.write(formatTables(json, runs));
  process.stdout.write(`\nwrote ${join(outDir, 'agp.json')} and agp-frontier.svg\n`);
}

/**
 * `--agp` JSON, checked against the AGP config schema before anything trains (a mistake used to
 * surface only when the first AGP run started, after dense had trained).
 */
function agpVariant(text: string | undefined): AgpConfigInput {
  if (text === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`bench:agp --agp: not JSON: ${(error as Error).message}`);
  }
  parseAgpConfig(json, 'bench:agp --agp');
  return json as AgpConfigInput;
}

/** `--lifecycle`: the full-scale defaults are issue 22's (1M offline rows, 2M drifting, 5 seeds). */
async function lifecycle(): Promise<void> {
  const { runLifecycle } = await import('./agp/lifecycle');
  const { lifecycleMethods, lifecycleCandidates } = await import('./agp/lifecycle-plan');
  const headline = JSON.parse(await readFile(join(__dirname, 'results', 'agp.json'), 'utf8')) as {
    lr: Record<Method, number>;
  };
  const baseLr = num(values['recurring-base-lr'], 0.1);
  const batch = 128;
  await runLifecycle({
    preset: presetOf(values.preset),
    offlineRows: num(values.rows, 1_000_000),
    testRows: num(values['test-rows'], 100_000),
    driftRows: num(values['drift-rows'], 2_000_000),
    segmentRows: num(values['segment-rows'], 100_000),
    sanityRows: num(values['sanity-rows'], 200_000),
    validationRows: num(values['validation-rows'], 200_000),
    validationTestRows: num(values['validation-test-rows'], 50_000),
    seeds: num(values.seeds, 5),
    methods: lifecycleMethods(values.methods),
    lr: headline.lr,
    agp: agpVariant(values.agp),
    drift: {},
    candidates: lifecycleCandidates(baseLr, batch, values.candidates),
    tunedView: !values['skip-tuned'],
    outDir: values['out-dir'] ?? join(__dirname, 'results'),
    outName: values['out-name'] ?? 'agp-lifecycle',
    command: `npm run bench:agp -- ${process.argv.slice(2).join(' ')}`,
  });
}

async function one(spec: string): Promise<void> {
  process.stdout.write(`${JSON.stringify(await runJob(JSON.parse(spec) as BenchJob))}\n`);
}

(values.one !== undefined ? one(values.one) : values.lifecycle ? lifecycle() : main()).catch(
  (error: unknown) => {
    process.stderr.write(
      `bench:agp failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
