import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { AgpConfigInput } from '../../schemas/agp-config';
import type { RecurringOptimizer } from '../../schemas/recurring-optimizer';
import type { SyntheticDriftInput, SyntheticPreset } from '../../schemas/synthetic';
import type { TrainConfigInput } from '../../schemas/train-config';
import { activeBackend, initBackend } from '../../src/model/backend';
import { LIFECYCLE_BENCH_NE } from '../ne-definition';
import { renderSvg } from './chart';
import { lifecycleFlopsSpec, progressiveNeSpec } from './lifecycle-chart';
import {
  continueFromCheckpoint,
  evaluateCheckpoint,
  frozenFromCheckpoint,
  runOffline,
  type OfflineOutcome,
} from './lifecycle-run';
import type { StreamResult } from './lifecycle-stream';
import {
  catchUpRows,
  flopsToDenseFinalNe,
  learnedPct,
  pairedSegments,
  type LifecycleSegment,
} from './lifecycle-summary';
import { formatLifecycle } from './lifecycle-format';
import type { LifecycleMethod, PolicyCandidate } from './lifecycle-plan';
import { trainJob, type BenchScale } from './plan';
import type { Method } from './types';

/**
 * The lifecycle benchmark (issue 22, `npm run bench:agp -- --lifecycle`): every method offline
 * on the headline's rows at its own tuned lr, then a drifting stream through the product's
 * recurring training loop under ONE `recurring.optimizer` shared by every method, chosen on a
 * validation stream; the per-method best candidate is reported beside it as a second view.
 * Before the drifting stream, a stationary continuation must not make any model worse on its
 * test set (the sanity check): if it does, the policy is wrong and the run stops, saying so.
 */

/** Sizes, seeds and settings of one lifecycle run. */
export interface LifecycleScale {
  preset: SyntheticPreset;
  offlineRows: number;
  testRows: number;
  driftRows: number;
  segmentRows: number;
  /** Rows of the stationary continuation of the sanity check. */
  sanityRows: number;
  /** Rows of the drifting validation stream the policy is chosen on (seed 1001, seed-1 models). */
  validationRows: number;
  validationTestRows: number;
  seeds: number;
  methods: LifecycleMethod[];
  /** Offline lr of each method (the headline's tuned choice). */
  lr: Record<Method, number>;
  /**
   * An AGP variant (`--agp` JSON, e.g. `{"regrownLr":{"factor":3,"steps":0.05}}`) merged into
   * the `agp` and `agp-0.8` methods' config; the baselines are unchanged. Its runs get their own
   * checkpoint directories (`-v<tag>`), so a variant never reuses the default's models.
   */
  agp: AgpConfigInput;
  drift: Omit<SyntheticDriftInput, 'startRow'>;
  candidates: PolicyCandidate[];
  /** Also run each method under its own best candidate (the second view). */
  tunedView: boolean;
  /** Where the JSON and charts go, and their base name. */
  outDir: string;
  outName: string;
  /** The command line, for the JSON. */
  command: string;
}

/** `-v` + a short hash of a non-empty AGP variant, '' for the default. */
function variantTag(agp: AgpConfigInput): string {
  if (Object.keys(agp).length === 0) return '';
  return `-v${createHash('sha256').update(JSON.stringify(agp)).digest('hex').slice(0, 8)}`;
}

/** Seed of the validation streams (the teacher is the same: teacherSeed 1). */
const VALIDATION_SEED = 1001;

function scheduleOf(m: LifecycleMethod): Method {
  return m === 'agp-0.8' ? 'agp' : m;
}

function offlineConfig(s: LifecycleScale, m: LifecycleMethod, seed: number): TrainConfigInput {
  const bench: BenchScale = {
    rows: s.offlineRows,
    testRows: s.testRows,
    validationRows: s.validationTestRows,
    continueRows: 0,
    seeds: s.seeds,
    frontierSeeds: 0,
    lrSeeds: 1,
    lrGrid: [],
    smallDenseWidths: [],
    frontierRatios: [],
    criteoPath: '',
    criteo: false,
    agp: s.agp,
    preset: s.preset,
  };
  const schedule = scheduleOf(m);
  const job = trainJob(bench, 'headline', 'synthetic', schedule, seed, s.lr[schedule]);
  const variant = schedule === 'agp' ? variantTag(s.agp) : '';
  const name = `lifecycle-${m}-r${s.offlineRows}-s${seed}${variant}`;
  return {
    ...job.config,
    name,
    ...(m === 'agp-0.8' ? { agp: { ...job.config.agp, flopsBudget: 0.8 } } : {}),
    outDir: join('.data', 'bench', 'agp-lifecycle', name),
  };
}

function stream(s: LifecycleScale, seed: number, drifting: boolean, split: 'train' | 'test') {
  return {
    preset: s.preset,
    seed,
    teacherSeed: 1,
    split,
    ...(drifting ? { drift: { ...s.drift, startRow: s.offlineRows } } : {}),
  };
}

/** A JSON map of finished steps, written after each one, so an interrupted run resumes. */
async function openProgress(path: string) {
  const data: Record<string, unknown> = existsSync(path)
    ? (JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>)
    : {};
  return {
    async step<T>(key: string, run: () => Promise<T>): Promise<T> {
      if (key in data) return data[key] as T;
      const value = await run();
      data[key] = value;
      await writeFile(`${path}.tmp`, JSON.stringify(data));
      await rename(`${path}.tmp`, path);
      return value;
    },
  };
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function toSegments(
  method: string,
  seed: number,
  offline: OfflineOutcome,
  r: StreamResult,
): LifecycleSegment[] {
  let rows = 0;
  return r.segments.map((seg) => {
    rows += seg.rows;
    return {
      method,
      seed,
      startRow: seg.startRow - r.segments[0]!.startRow,
      rows: seg.rows,
      progressiveNe: seg.progressiveNe,
      cumulativeFlops: offline.trainFlops + offline.recurringFlopsPerRow * rows,
    };
  });
}

/** Runs the lifecycle benchmark and writes `<outName>.json` and its two charts. */
export async function runLifecycle(s: LifecycleScale): Promise<void> {
  // Before anything trains: a resumed run whose offline steps are all done would otherwise
  // reach its first recurring stage on tfjs' default (pure JS) backend, as slow as it is wrong
  // for the figures' backend field.
  await initBackend();
  await mkdir(s.outDir, { recursive: true });
  const progressDir = join('.data', 'bench', 'agp-lifecycle');
  await mkdir(progressDir, { recursive: true });
  const progress = await openProgress(join(progressDir, `${s.outName}.progress.json`));
  const seeds = Array.from({ length: s.seeds }, (_, i) => i + 1);
  const range = (rows: number) => ({ startRow: s.offlineRows, rows, segmentRows: s.segmentRows });

  // 1. Offline, every method and seed (checkpoints stay under .data/bench/agp-lifecycle).
  const offline = new Map<string, OfflineOutcome>();
  for (const seed of seeds) {
    for (const m of s.methods) {
      const cfg = offlineConfig(s, m, seed);
      const key = `offline|${JSON.stringify(cfg)}`;
      const o = await progress.step(key, async () => {
        log(`offline ${m} seed ${seed} (${s.offlineRows} rows, lr ${s.lr[scheduleOf(m)]})`);
        return runOffline(cfg);
      });
      log(
        `offline ${m} seed ${seed}: test NE ${o.testNe.toFixed(4)}, FLOPs ${(o.trainFlops / o.denseEquivalentFlops).toFixed(3)}× dense`,
      );
      offline.set(`${m}|${seed}`, o);
    }
  }
  const off = (m: string, seed: number) => offline.get(`${m}|${seed}`) as OfflineOutcome;

  // 2. The recurring policy: on the seed-1 models, a drifting validation stream (other rows:
  // seed 1001) per candidate; a candidate must also pass the stationary check on validation
  // rows (test NE on the validation test split not above the offline model's). The shared
  // choice is the lowest mean progressive NE over methods; the per-method best is the 2nd view.
  const valTest = { ...stream(s, VALIDATION_SEED, false, 'test'), rows: s.validationTestRows };
  const validation: {
    name: string;
    optimizer: RecurringOptimizer;
    progressiveNe: Record<string, number>;
    stationaryPass: Record<string, boolean>;
    meanProgressiveNe: number;
    eligible: boolean;
  }[] = [];
  for (const c of s.candidates) {
    const progressiveNe: Record<string, number> = {};
    const stationaryPass: Record<string, boolean> = {};
    for (const m of s.methods) {
      const o = off(m, 1);
      const cfg = offlineConfig(s, m, 1);
      const v = await progress.step(
        `val|${m}|${c.name}|${JSON.stringify(c.optimizer)}|${s.validationRows}|${JSON.stringify(s.drift)}|${JSON.stringify(cfg)}`,
        async () => {
          log(`validation ${m} ${c.name}`);
          const offNe = await evaluateCheckpoint(o.checkpointDir, cfg, valTest);
          const drift = await continueFromCheckpoint(
            o.checkpointDir,
            cfg,
            stream(s, VALIDATION_SEED, true, 'train'),
            { ...range(s.validationRows), segmentRows: s.validationRows },
            c.optimizer,
          );
          const still = await continueFromCheckpoint(
            o.checkpointDir,
            cfg,
            stream(s, VALIDATION_SEED, false, 'train'),
            { ...range(s.sanityRows), segmentRows: s.sanityRows },
            c.optimizer,
            valTest,
          );
          return {
            ne: drift.segments[0]!.progressiveNe,
            offlineValNe: offNe,
            stillNe: still.testNe as number,
          };
        },
      );
      progressiveNe[m] = v.ne;
      stationaryPass[m] = v.stillNe <= v.offlineValNe;
      log(
        `validation ${m} ${c.name}: progressive NE ${v.ne.toFixed(4)}, stationary ${v.offlineValNe.toFixed(4)} → ${v.stillNe.toFixed(4)}`,
      );
    }
    const nes = Object.values(progressiveNe);
    validation.push({
      name: c.name,
      optimizer: c.optimizer,
      progressiveNe,
      stationaryPass,
      meanProgressiveNe: nes.reduce((a, b) => a + b, 0) / nes.length,
      eligible: Object.values(stationaryPass).every(Boolean),
    });
  }
  const eligible = validation.filter((v) => v.eligible);
  const pool = eligible.length > 0 ? eligible : validation;
  const chosen = [...pool].sort((a, b) => a.meanProgressiveNe - b.meanProgressiveNe)[0]!;
  log(
    `recurring.optimizer chosen on validation: ${chosen.name} ${JSON.stringify(chosen.optimizer)}${eligible.length === 0 ? ' (NO candidate passed the stationary check on validation)' : ''}`,
  );
  const tuned = Object.fromEntries(
    s.methods.map((m) => {
      const pick = [...(eligible.length > 0 ? eligible : validation)].sort(
        (a, b) => (a.progressiveNe[m] ?? Infinity) - (b.progressiveNe[m] ?? Infinity),
      )[0]!;
      return [m, pick];
    }),
  );

  // 3. The sanity check with the chosen policy, on every method and seed.
  const sanity: { method: string; seed: number; offlineTestNe: number; continuedTestNe: number }[] =
    [];
  for (const seed of seeds) {
    for (const m of s.methods) {
      const o = off(m, seed);
      const cfg = offlineConfig(s, m, seed);
      const test = { ...stream(s, seed, false, 'test'), rows: s.testRows };
      const r = await progress.step(
        `sanity|${m}|${seed}|${JSON.stringify(chosen.optimizer)}|${s.sanityRows}|${JSON.stringify(cfg)}`,
        async () => {
          log(`sanity ${m} seed ${seed}`);
          const c = await continueFromCheckpoint(
            o.checkpointDir,
            cfg,
            stream(s, seed, false, 'train'),
            { ...range(s.sanityRows), segmentRows: s.sanityRows },
            chosen.optimizer,
            test,
          );
          return { continuedTestNe: c.testNe as number };
        },
      );
      sanity.push({ method: m, seed, offlineTestNe: o.testNe, continuedTestNe: r.continuedTestNe });
      log(
        `sanity ${m} seed ${seed}: offline ${o.testNe.toFixed(4)} → continued ${r.continuedTestNe.toFixed(4)}`,
      );
    }
  }
  const failed = sanity.filter((x) => !(x.continuedTestNe <= x.offlineTestNe));

  const base = {
    generatedAt: new Date().toISOString(),
    neDefinition: LIFECYCLE_BENCH_NE,
    command: s.command,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
    },
    backend: activeBackend(),
    regime: {
      offlineRows: s.offlineRows,
      preset: s.preset,
      testRows: s.testRows,
      driftRows: s.driftRows,
      segmentRows: s.segmentRows,
      segmentStartRows: 'rows since the hand-over (the stream row is offlineRows + startRow)',
      sanityRows: s.sanityRows,
      validationRows: s.validationRows,
      seeds,
      methods: s.methods,
      offlineLr: s.lr,
      agpVariant: s.agp,
      drift: { ...s.drift, startRow: s.offlineRows },
    },
    recurringOptimizer: {
      chosen: chosen.optimizer,
      chosenName: chosen.name,
      rule: 'lowest mean (over methods) progressive NE on the drifting validation stream (seed 1001, seed-1 models), among candidates whose stationary continuation does not raise any model’s validation test NE',
      candidates: validation,
      perMethodTuned: Object.fromEntries(Object.entries(tuned).map(([m, v]) => [m, v.name])),
    },
    offline: s.methods.flatMap((m) =>
      seeds.map((seed) => ({
        method: m,
        seed,
        testNe: off(m, seed).testNe,
        trainFlops: off(m, seed).trainFlops,
        flopsFraction: off(m, seed).trainFlops / off(m, seed).denseEquivalentFlops,
      })),
    ),
    sanity,
  };
  const jsonPath = join(s.outDir, `${s.outName}.json`);
  if (failed.length > 0) {
    const msg = `SANITY CHECK FAILED: with recurring.optimizer ${chosen.name} a stationary continuation made ${failed.map((f) => `${f.method} seed ${f.seed} (${f.offlineTestNe.toFixed(4)} → ${f.continuedTestNe.toFixed(4)})`).join(', ')} worse: the learning-rate policy is wrong, so the lifecycle is not reported`;
    await writeFile(jsonPath, JSON.stringify({ ...base, sanityFailed: msg }, null, 2) + '\n');
    throw new Error(msg);
  }

  // 4. The drifting stream, every method and seed, under the shared policy (and the tuned view).
  const segments: LifecycleSegment[] = [];
  const tunedSegments: LifecycleSegment[] = [];
  const bayes: { seed: number; startRow: number; rows: number; bayesNe: number }[] = [];
  for (const seed of seeds) {
    for (const m of s.methods) {
      const o = off(m, seed);
      const cfg = offlineConfig(s, m, seed);
      const policies: [string, RecurringOptimizer][] = [['shared', chosen.optimizer]];
      if (s.tunedView && tuned[m]!.name !== chosen.name)
        policies.push(['tuned', tuned[m]!.optimizer]);
      for (const [view, opt] of policies) {
        const r = await progress.step(
          `drift|${m}|${seed}|${JSON.stringify(opt)}|${s.driftRows}|${s.segmentRows}|${JSON.stringify(s.drift)}|${JSON.stringify(cfg)}`,
          async () => {
            log(`drifting ${m} seed ${seed} (${view} policy)`);
            return continueFromCheckpoint(
              o.checkpointDir,
              cfg,
              stream(s, seed, true, 'train'),
              range(s.driftRows),
              opt,
            );
          },
        );
        const segs = toSegments(m, seed, o, r);
        if (view === 'shared') {
          segments.push(...segs);
          if (s.tunedView && tuned[m]!.name === chosen.name) tunedSegments.push(...segs);
          if (m === s.methods[0]) {
            for (const g of r.segments)
              bayes.push({
                seed,
                startRow: g.startRow - s.offlineRows,
                rows: g.rows,
                bayesNe: g.bayesNe,
              });
          }
        } else tunedSegments.push(...segs);
        const mean =
          segs.reduce((a, g) => a + g.progressiveNe * g.rows, 0) /
          segs.reduce((a, g) => a + g.rows, 0);
        log(
          `drifting ${m} seed ${seed} (${view}): progressive NE ${mean.toFixed(4)} over ${r.trained} rows; per segment ${segs.map((g) => g.progressiveNe.toFixed(4)).join(' ')}`,
        );
      }
    }
  }
  // 5. The frozen reference (dense and AGP, every seed): the offline model scored on the same
  // drifting rows without updates, so the trained curves can be read as "what the recurring
  // stage learned" (every model's NE rises along the stream as the teacher moves).
  const frozen: LifecycleSegment[] = [];
  for (const seed of seeds) {
    for (const m of s.methods.filter((x) => x === 'dense' || x === 'agp')) {
      const o = off(m, seed);
      const cfg = offlineConfig(s, m, seed);
      const segs = await progress.step(
        `frozen|${m}|${seed}|${s.driftRows}|${s.segmentRows}|${JSON.stringify(s.drift)}|${JSON.stringify(cfg)}`,
        async () => {
          log(`frozen reference ${m} seed ${seed}`);
          return frozenFromCheckpoint(
            o.checkpointDir,
            cfg,
            stream(s, seed, true, 'train'),
            range(s.driftRows),
          );
        },
      );
      frozen.push(
        ...toSegments(m, seed, o, { segments: segs, trained: 0, deadLettered: 0, steps: 0 }).map(
          (g) => ({ ...g, cumulativeFlops: o.trainFlops }),
        ),
      );
      log(
        `frozen ${m} seed ${seed}: per segment ${frozen
          .filter((g) => g.method === m && g.seed === seed)
          .map((g) => g.progressiveNe.toFixed(4))
          .join(' ')}`,
      );
    }
  }
  const others = s.methods.filter((m) => m !== 'agp');
  const json = {
    ...base,
    bayes,
    segments,
    paired: pairedSegments(segments, 'agp', others, seeds),
    catchUpRows: s.methods
      .filter((m) => m !== 'dense')
      .flatMap((m) =>
        seeds.map((seed) => ({ method: m, seed, rows: catchUpRows(segments, m, seed) })),
      ),
    flopsToDenseFinalNe: { method: 'agp', ...flopsToDenseFinalNe(segments, 'agp', seeds) },
    frozenReference: {
      definition:
        'the offline model scored on the same drifting rows without updates; learned = mean progressive NE trained over frozen − 1, % (paired over seeds, 95% CI)',
      segments: frozen,
      learned: [...new Set(frozen.map((g) => g.method))].map((m) =>
        learnedPct(segments, frozen, m, seeds),
      ),
    },
    tunedView: s.tunedView
      ? {
          perMethod: base.recurringOptimizer.perMethodTuned,
          segments: tunedSegments,
          paired: pairedSegments(tunedSegments, 'agp', others, seeds),
        }
      : { skipped: 'not run (--skip-tuned)', perMethod: base.recurringOptimizer.perMethodTuned },
  };
  await writeFile(jsonPath, JSON.stringify(json, null, 2) + '\n');
  const title = `${s.preset}, ${s.offlineRows.toLocaleString('en')} offline rows, then ${s.driftRows.toLocaleString('en')} drifting rows (recurring.optimizer ${chosen.name})`;
  const specs = {
    'progressive-ne': progressiveNeSpec(segments, `Lifecycle: progressive NE, ${title}`),
    flops: lifecycleFlopsSpec(
      segments,
      json.offline,
      `Lifecycle: NE vs cumulative FLOPs, ${title}`,
    ),
  };
  for (const [name, spec] of Object.entries(specs)) {
    await writeFile(
      join(s.outDir, `${s.outName}-${name}.vl.json`),
      JSON.stringify(spec, null, 2) + '\n',
    );
    await writeFile(join(s.outDir, `${s.outName}-${name}.svg`), await renderSvg(spec));
  }
  process.stdout.write(formatLifecycle(json));
  log(`wrote ${jsonPath} and its charts`);
}
