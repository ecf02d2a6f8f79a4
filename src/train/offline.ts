import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelConfigForFeatures, type ModelConfig } from '../../schemas/model-config';
import type { TrainConfig } from '../../schemas/train-config';
import { TrainReport, type PhaseCost, type SkippedRows } from '../../schemas/train-report';
import { agpControllerFromJSON, createAgpController, type AgpController } from '../agp/controller';
import { createFlopAccumulator, flopArchOf, hiddenWidthsOf, type FlopTotals } from '../agp/flops';
import { widthLrScale } from '../agp/lr-scale';
import type { Widths } from '../agp/schedule';
import { widthsOf } from '../agp/surgery';
import { createDenseRangeTracker, type DenseRanges } from '../data/dense-ranges';
import type { BatchSource } from '../data/source';
import { DataError } from '../errors';
import { initBackend, type BackendName } from '../model/backend';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint';
import { createTrainer, type Trainer } from '../model/trainer';
import { createRng } from '../rng';
import { createAgpDriver } from './agp-driver';
import { countRows, evaluateOn } from './evaluate';
import { createEventLoopYield } from './event-loop-yield';
import { createEarlyStopping } from './early-stopping';
import { createLossGuard } from './loss-guard';
import { lrFactorOf } from './lr-schedule';
import { OfflineCheckpointState } from './offline-state';
import { openTrainingData } from './open-data';
import { renderReportHtml } from './report-html';

/** One progress line of an offline run (the CLI's progress bar, the activity's heartbeat). */
export interface OfflineProgress {
  step: number;
  totalSteps: number;
  phase: string;
  widths: Widths;
  /** Running mean of the training loss. */
  loss: number;
  samplesPerSecond: number;
  elapsedSeconds: number;
}

/** Options of {@link runOfflineTraining}. */
export interface OfflineOptions {
  onProgress?: (p: OfflineProgress) => void;
  /** Call `onProgress` every this many steps. @default 50 */
  progressEvery?: number;
  /** Stops the run at the next step boundary (after writing a checkpoint when one is configured). */
  signal?: AbortSignal;
  /** A checkpoint directory written by an earlier run of the same config, to continue from. */
  resumeFrom?: string;
  /** Called after every checkpoint, e.g. to heartbeat its path. */
  onCheckpoint?: (dir: string, step: number) => void;
  backend?: BackendName;
  /** The config file the run came from, named in config errors. */
  configPath?: string;
}

/** What an offline run leaves behind. */
export interface OfflineResult {
  report: TrainReport;
  /** The trained model; the caller owns it and disposes it. */
  trainer: Trainer;
  /** The final checkpoint (full-size for `agp` and `dense`). */
  checkpointDir: string;
  outDir: string;
  /**
   * Per dense feature, the range of the (transformed) inputs the model was trained on: the
   * published version's spec clips to it (src/data/dense-ranges.ts).
   */
  denseRanges: DenseRanges;
}

interface Curves {
  every: number;
  step: number[];
  loss: number[];
  cumFlops: number[];
  cumDenseFlops: number[];
  widths: Record<string, number[]>;
  eval: TrainReport['curves']['eval'];
}

/** What a source skipped in its last pass (the whole of it: a resumed pass still reads every row). */
export function skippedRowsOf(source: BatchSource): SkippedRows {
  return { skipped: source.skipped, first: [...(source.skippedRows ?? [])] };
}

/** The model config with the hidden widths the controller starts from (reduced for small-dense). */
function withWidths(cfg: ModelConfig, widths: Widths): ModelConfig {
  const pick = (tower: 'bottom' | 'top', full: number[]) =>
    full.map((w, i) => (i < full.length - 1 ? (widths[`${tower}.${i}`] ?? w) : w));
  return { ...cfg, bottom: pick('bottom', cfg.bottom), top: pick('top', cfg.top) };
}

/**
 * Trains a DLRM offline on `config.data.train` under the AGP schedule `config.agp` (or one of
 * its baselines), evaluates it on `config.data.test`, and writes `report.json`,
 * `report.html` and the final checkpoint into the run's directory.
 */
export async function runOfflineTraining(
  config: TrainConfig,
  opts: OfflineOptions = {},
): Promise<OfflineResult> {
  const backend = await initBackend(opts.backend);
  const data = openTrainingData(config);
  const fullModel = modelConfigForFeatures(
    data.spec,
    { ...config.model, seed: config.seed },
    opts.configPath === undefined ? 'training config' : `training config ${opts.configPath}`,
    ['model'],
  );
  const batchSize = fullModel.batchSize;
  const { rows: rowsPerEpoch, positives } = await countRows(data.train);
  // The standard NE divides by the entropy of the training base rate (README "Metrics").
  const trainBaseRate = positives / rowsPerEpoch;
  if (rowsPerEpoch === 0) throw new DataError(`training data is empty: ${data.train.describe()}`);
  const stepsPerEpoch = Math.ceil(rowsPerEpoch / batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const lrFactor = lrFactorOf(config.lrSchedule, totalSteps);
  const arch = flopArchOf(fullModel);
  const outDir =
    config.outDir ??
    join('.data', 'runs', `${config.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const checkpointDir = join(outDir, 'checkpoint');
  await mkdir(outDir, { recursive: true });

  let trainer: Trainer;
  let controller: AgpController;
  const rng = createRng(config.seed ^ 0x5eed);
  let step = 0;
  let epoch = 0;
  let rowInEpoch = 0;
  let runningLoss = Number.NaN;
  let elapsedBefore = 0;
  let flopsFrom: FlopTotals | undefined;
  let startedAt = new Date().toISOString();
  const every = Math.max(1, Math.floor(totalSteps / 400));
  let curves: Curves = {
    every,
    step: [],
    loss: [],
    cumFlops: [],
    cumDenseFlops: [],
    widths: {},
    eval: [],
  };
  let driverFrom: OfflineCheckpointState['driver'] | undefined;
  let rangesFrom: DenseRanges | undefined;

  if (opts.resumeFrom !== undefined) {
    const loaded = await loadCheckpoint(opts.resumeFrom);
    const state = OfflineCheckpointState.parse(loaded.extra);
    trainer = loaded.trainer;
    controller = agpControllerFromJSON(state.controller);
    rng.restore(state.rng);
    ({ step, epoch, rowInEpoch, runningLoss, startedAt } = state);
    elapsedBefore = state.elapsedSeconds;
    flopsFrom = state.flops as FlopTotals;
    curves = state.curves as Curves;
    driverFrom = state.driver;
    rangesFrom = state.denseRanges;
  } else {
    controller = createAgpController(config.agp, {
      totalSteps,
      fullWidths: hiddenWidthsOf(arch),
      arch,
    });
    // small-dense starts (and stays) narrow; a schedule that prunes at step 0 starts full-width
    // and lets the prune choose the neurons.
    const startWidths =
      controller.at(0).event === 'prune' ? controller.fullWidths : controller.initialWidths;
    trainer = createTrainer(withWidths(fullModel, startWidths), { rng: createRng(config.seed) });
  }
  const driver = createAgpDriver({
    trainer,
    controller,
    config: controller.config,
    rng,
    ...(driverFrom === undefined ? {} : { from: driverFrom }),
  });
  const flops = createFlopAccumulator(arch, flopsFrom);
  const ranges = createDenseRangeTracker(fullModel.numDense, rangesFrom);
  const evalPoints = new Set(
    Array.from({ length: config.evalPoints }, (_, k) =>
      Math.round(((k + 1) * totalSteps) / (config.evalPoints + 1)),
    ),
  );
  const lossGuard = createLossGuard({
    denseNames: data.spec.dense.map((f) => f.name),
    ranges: () => ranges.snapshot(),
  });
  const stopper =
    data.validation === undefined
      ? undefined
      : createEarlyStopping({
          source: data.validation,
          dir: join(outDir, 'best-epoch'),
          patience: config.patience ?? 1,
          trainBaseRate,
        });
  let epochsTrained = config.epochs;
  // With validation rows the NE curve is scored on them, so the test rows are read once, at the end.
  const curveSource = data.validation ?? data.test;
  const t0 = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - t0) / 1000;
  let samplesThisProcess = 0;

  const checkpoint = async (): Promise<void> => {
    const state: OfflineCheckpointState = {
      v: 1,
      kind: 'offline',
      step,
      epoch,
      rowInEpoch,
      controller: controller.toJSON(),
      driver: driver.toJSON(),
      rng: [...rng.state()] as [number, number, number, number],
      flops: flops.toJSON(),
      runningLoss,
      elapsedSeconds: elapsed(),
      curves,
      startedAt,
      denseRanges: ranges.snapshot(),
    };
    await saveCheckpoint(checkpointDir, trainer, state);
    opts.onCheckpoint?.(checkpointDir, step);
  };

  // Timers (an activity's keep-alive heartbeat) and a cancellation must get through the loop.
  const yieldEventLoop = createEventLoopYield();
  try {
    training: for (; epoch < config.epochs; epoch++, rowInEpoch = 0) {
      for await (const batch of data.train.batches({ batchSize, startRow: rowInEpoch })) {
        await yieldEventLoop();
        if (opts.signal?.aborted) break training;
        const tStep = performance.now();
        ranges.observe(batch);
        const plan = driver.beforeStep(step);
        const result = driver.trainStep(step, () =>
          trainer.step(batch, {
            probeActivations: driver.wantsActivationStats(step),
            lrScale: lrFactor(step) * widthLrScale(config.agp, plan, controller.fullWidths),
          }),
        );
        driver.afterStep(result.activationStats);
        flops.add({
          phase: plan.phase,
          widths: plan.widths,
          batchSize: batch.size,
          seconds: (performance.now() - tStep) / 1000,
        });
        runningLoss = Number.isNaN(runningLoss)
          ? result.loss
          : 0.98 * runningLoss + 0.02 * result.loss;
        step++;
        lossGuard.check(step, result.loss, runningLoss);
        rowInEpoch += batch.size;
        samplesThisProcess += batch.size;
        if (step % every === 0 || step === totalSteps) {
          const totals = flops.totals();
          curves.step.push(step);
          curves.loss.push(runningLoss);
          curves.cumFlops.push(totals.totalFlops);
          curves.cumDenseFlops.push(totals.denseEquivalentFlops);
          for (const [name, w] of Object.entries(widthsOf(trainer.towers)))
            (curves.widths[name] ??= []).push(w);
        }
        if (evalPoints.has(step)) {
          const tEval = performance.now();
          const m = await evaluateOn(trainer, curveSource, {
            rows: config.evalRows,
            trainBaseRate,
          });
          curves.eval.push({
            step,
            ne: m.ne,
            logloss: m.logloss,
            auc: m.auc,
            calibration: m.calibration,
          });
          // Evaluation is not training: keep its time out of the phase's wall time.
          elapsedBefore -= (performance.now() - tEval) / 1000;
        }
        if (opts.onProgress && (step % (opts.progressEvery ?? 50) === 0 || step === totalSteps)) {
          opts.onProgress({
            step,
            totalSteps,
            phase: plan.phase,
            widths: plan.widths,
            loss: runningLoss,
            samplesPerSecond: samplesThisProcess / Math.max(1e-9, (performance.now() - t0) / 1000),
            elapsedSeconds: elapsed(),
          });
        }
        if (
          config.checkpointEvery > 0 &&
          step % config.checkpointEvery === 0 &&
          step < totalSteps
        ) {
          await checkpoint();
        }
      }
      if (stopper !== undefined && !opts.signal?.aborted) {
        const tEval = performance.now();
        const full = Object.entries(controller.fullWidths).every(
          ([layer, w]) => widthsOf(trainer.towers)[layer] === w,
        );
        const stop = await stopper.afterEpoch(epoch + 1, trainer, full);
        elapsedBefore -= (performance.now() - tEval) / 1000;
        if (stop) {
          epochsTrained = epoch + 1;
          break training;
        }
      }
    }
    const wallSeconds = elapsed();
    if (step < totalSteps && epochsTrained === config.epochs) {
      await checkpoint();
      throw new DataError(
        `training stopped at step ${step} of ${totalSteps}; resume from ${checkpointDir}`,
      );
    }
    // The model handed on is the best validation epoch's (the test rows are first read here).
    if (stopper !== undefined) trainer = await stopper.finish(trainer);
    await checkpoint();
    const test = await evaluateOn(trainer, data.test, { trainBaseRate });
    // The held-out curve ends at the final evaluation, so the report's test NE is on it; a
    // curve on validation rows does not (it would mix two sets of rows).
    if (
      data.validation === undefined &&
      config.evalPoints > 0 &&
      curves.eval[curves.eval.length - 1]?.step !== step
    ) {
      const { ne, logloss, auc, calibration } = test;
      curves.eval.push({ step, ne, logloss, auc, calibration });
    }
    const totals = flops.totals();
    const phases: PhaseCost[] = Object.entries(totals.perPhase).map(([phase, p]) => ({
      phase,
      steps: p?.steps ?? 0,
      flops: p?.flops ?? 0,
      wallSeconds: p?.seconds ?? 0,
    }));
    const report = TrainReport.parse({
      v: 1,
      schedule: controller.config.schedule,
      growth: controller.config.growth,
      dataset: data.train.describe(),
      seed: config.seed,
      backend,
      startedAt,
      steps: step,
      batchSize,
      rowsTrained: totals.steps === 0 ? 0 : rowsPerEpoch * epochsTrained,
      wallSeconds,
      samplesPerSecond: (rowsPerEpoch * epochsTrained) / Math.max(1e-9, wallSeconds),
      trainFlops: totals.totalFlops,
      denseEquivalentFlops: totals.denseEquivalentFlops,
      flopSaving: totals.saving,
      phases,
      fullWidths: controller.fullWidths,
      finalWidths: widthsOf(trainer.towers),
      test: {
        logloss: test.logloss,
        ne: test.ne,
        ...(Number.isFinite(test.neTestRate) ? { neTestRate: test.neTestRate } : {}),
        trainBaseRate,
        testBaseRate: test.baseRate,
        auc: test.auc,
        calibration: test.calibration,
        rows: test.count,
      },
      invalidRows: { train: skippedRowsOf(data.train), test: skippedRowsOf(data.test) },
      bayes:
        data.bayes === undefined ? null : (({ logloss, auc }) => ({ logloss, auc }))(data.bayes()),
      curves: { ...curves, evalOn: data.validation === undefined ? 'test' : 'validation' },
      ...(stopper === undefined ? {} : { validation: stopper.report() }),
    });
    await writeFile(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    await writeFile(join(outDir, 'report.html'), renderReportHtml(report));
    return { report, trainer, checkpointDir, outDir, denseRanges: ranges.snapshot() };
  } catch (error) {
    // On success the caller owns the trainer; on failure nobody would dispose it.
    trainer.dispose();
    throw error;
  } finally {
    driver.dispose();
  }
}
