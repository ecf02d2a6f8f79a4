import type { CandidateJudgement, Manifest } from '../../schemas/manifest';
import type { ResolvedWindow } from '../../schemas/training-window';
import type { JudgeCandidate } from '../../schemas/workflow-io';
import { withLearnedClips } from '../data/dense-ranges';
import { parseTrainConfig } from '../../schemas/train-config';
import type { TrainReport } from '../../schemas/train-report';
import type { RegistryStore } from '../registry/store';
import { runOfflineTraining } from '../train/offline';
import { openTrainingData } from '../train/open-data';
import { describeTestSplit } from './describe-test-split';
import { ConfigError } from '../errors';
import { judgeOnTestSplit } from './judge-on-window';
import { formatWidths, towerWidths } from './model-version';
import { findOfflineRun, offlineVersionSummary } from './offline-run';
import { publishOfflineModel } from './publish-offline';

/** Progress of an offline run, as the activity heartbeats it. */
export interface OfflinePhaseProgress {
  step: number;
  totalSteps: number;
  phase: string;
  loss: number;
  samplesPerSecond: number;
}

/** Options of {@link runOfflinePhase}. */
export interface OfflinePhaseOptions {
  /** The run's directory (reports, and checkpoints under `checkpoint/`). */
  outDir: string;
  /** A checkpoint directory to resume from (a retried activity's). */
  resumeFrom?: string;
  /** Checkpoint every this many steps. @default the config's `checkpointEvery` */
  checkpointEvery?: number;
  signal?: AbortSignal;
  onProgress?: (progress: OfflinePhaseProgress) => void;
  /** Called after every checkpoint with its directory and step. */
  onCheckpoint?: (dir: string, step: number) => void;
  /** The data window the config's sources were resolved from (recorded in the manifest). */
  window?: ResolvedWindow;
  /**
   * The run this is an attempt of (recorded in the manifest): when a version of it is already
   * in the registry at publish time, that version is returned and nothing is published.
   */
  runId?: string;
  /**
   * Called after training, before publishing; throwing publishes nothing (the activity proves
   * here that the Temporal server still hears this attempt).
   */
  beforePublish?: () => Promise<void>;
  /**
   * Judge the model against the served version on the test split before publishing it (a daily
   * candidate): one that fails is published `held`; one that passes becomes `latest` (CAS on
   * the served version) or a standby, as `onPass` says.
   */
  judge?: JudgeCandidate;
}

/** What an offline phase produced. */
export interface OfflinePhaseResult {
  manifest: Manifest;
  report: TrainReport;
  /** One line: schedule, growth, rows, FLOP saving, NE. */
  summary: string;
  /** True when an earlier attempt of the run had published it (this training was not). */
  publishedEarlier: boolean;
}

/**
 * The offline phase end to end: parse the config, run AGP training (resuming from a checkpoint
 * when given), and publish the full-width model as an `offline` version, once per `runId`.
 *
 * @throws ConfigError for a bad config (naming the field), DataError for bad rows.
 */
export async function runOfflinePhase(
  registry: RegistryStore,
  model: string,
  rawConfig: unknown,
  options: OfflinePhaseOptions,
): Promise<OfflinePhaseResult> {
  const config = {
    ...parseTrainConfig(rawConfig, 'trainConfig'),
    outDir: options.outDir,
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
  };
  const spec = openTrainingData(config).spec;
  const { report, trainer, checkpointDir, denseRanges } = await runOfflineTraining(config, {
    ...(options.resumeFrom === undefined ? {} : { resumeFrom: options.resumeFrom }),
    ...(options.onCheckpoint === undefined ? {} : { onCheckpoint: options.onCheckpoint }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onProgress: (p) =>
      options.onProgress?.({
        step: p.step,
        totalSteps: p.totalSteps,
        phase: String(p.phase),
        loss: p.loss,
        samplesPerSecond: p.samplesPerSecond,
      }),
  });
  try {
    await options.beforePublish?.();
    // An attempt that lost its worker after publishing left its version: a second one would be
    // a duplicate offline model of the same run.
    const earlier =
      options.runId === undefined ? null : await findOfflineRun(registry, model, options.runId);
    if (earlier !== null) {
      const summary = `${offlineVersionSummary(earlier)} (published by an earlier attempt)`;
      return { manifest: earlier, report, summary, publishedEarlier: true };
    }
    const widths = towerWidths(trainer);
    let judgement: CandidateJudgement | undefined;
    if (options.judge) {
      // Windows of the daily run give train and test sources; a split config cannot be judged.
      const test = config.data.test;
      if (test === undefined) {
        throw new ConfigError('trainConfig: data.test: a judged run needs its test source');
      }
      judgement = await judgeOnTestSplit(registry, {
        model,
        candidate: { trainer, spec: withLearnedClips(spec, denseRanges) },
        test,
        servedVersion: options.judge.servedVersion,
        tolerance: options.judge.tolerance,
        describeTest: describeTestSplit(options.window, test.kind),
      });
      // Judging took a while: prove again that this attempt still owns the run.
      await options.beforePublish?.();
    }
    const manifest = await publishOfflineModel(registry, {
      model,
      config,
      spec,
      report,
      checkpointDir,
      widths,
      denseRanges,
      ...(options.window ? { window: options.window } : {}),
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(judgement && options.judge ? { judgement, onPass: options.judge.onPass } : {}),
    });
    const summary =
      `${report.schedule}/${report.growth} on ${report.dataset}: ${report.rowsTrained} rows, ` +
      `test NE ${report.test.ne.toFixed(4)}, FLOP saving ${(report.flopSaving * 100).toFixed(1)}%, ` +
      `${report.samplesPerSecond.toFixed(0)} samples/s, widths ${formatWidths(widths)}`;
    return {
      manifest,
      report,
      summary: judgement ? `${summary}; ${judgement.reason}` : summary,
      publishedEarlier: false,
    };
  } finally {
    trainer.dispose();
  }
}
