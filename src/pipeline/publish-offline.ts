import type { FeatureSpec } from '../../schemas/feature-spec';
import type { CandidateJudgement, Manifest, TowerWidths } from '../../schemas/manifest';
import type { TrainConfig } from '../../schemas/train-config';
import type { ResolvedWindow } from '../../schemas/training-window';
import type { TrainReport } from '../../schemas/train-report';
import { withLearnedClips, type DenseRanges } from '../data/dense-ranges';
import { hashConfig } from '../registry/config-hash';
import type { RegistryStore } from '../registry/store';
import type { VersionConfig } from './feature-spec-of';
import { AgpError } from '../errors';
import { PublishConflictError } from '../registry/conflict';

/** What {@link publishOfflineModel} publishes. */
export interface OfflinePublication {
  model: string;
  config: TrainConfig;
  spec: FeatureSpec;
  report: TrainReport;
  /** The final (full-width) checkpoint written by the offline trainer. */
  checkpointDir: string;
  widths?: TowerWidths;
  /**
   * Ranges of the dense inputs the run trained on (`OfflineResult.denseRanges`): the published
   * spec clips every dense feature to its range plus a margin. Without them nothing is clipped.
   */
  denseRanges?: DenseRanges;
  /** The data window the run's sources were resolved from (a scheduled retraining's). */
  window?: ResolvedWindow;
  /** The run publishing it, recorded so a retry of the run finds it (src/pipeline/offline-run.ts). */
  runId?: string;
  /**
   * A daily candidate's judgement. Failed: published `held` (listed, verifiable, never
   * `latest`). Passed: `onPass: 'latest'` moves `latest` to it only if the version it was
   * compared with is still the head (compare-and-set); `standby` leaves `latest` alone.
   */
  judgement?: CandidateJudgement;
  /** @default 'standby' */
  onPass?: 'latest' | 'standby';
}

/** Keeps only finite numbers: manifests reject NaN and ±Infinity. */
export function finiteMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

/** The headline figures of an offline run, as a manifest's metrics. */
export function offlineMetrics(report: TrainReport): Record<string, number> {
  return finiteMetrics({
    logloss: report.test.logloss,
    ne: report.test.ne,
    auc: report.test.auc,
    calibration: report.test.calibration,
    testRows: report.test.rows,
    rowsTrained: report.rowsTrained,
    samplesPerSecond: report.samplesPerSecond,
    flopSaving: report.flopSaving,
    wallSeconds: report.wallSeconds,
  });
}

/**
 * Publishes an offline run's final checkpoint as an `offline` version (no parent: it was
 * trained from scratch). The manifest's `config` carries the training config and the feature
 * spec, which the recurring phase needs to decode events for this model, with each dense
 * feature's `clip` learned from the run's data when `denseRanges` is given.
 */
export async function publishOfflineModel(
  registry: RegistryStore,
  publication: OfflinePublication,
): Promise<Manifest> {
  const { config, report } = publication;
  const spec =
    publication.denseRanges === undefined
      ? publication.spec
      : withLearnedClips(publication.spec, publication.denseRanges);
  const versionConfig: VersionConfig = { train: config, features: spec };
  const { judgement } = publication;
  const takeOver = judgement?.passed === true && publication.onPass === 'latest';
  return publish().catch((error: unknown) => {
    if (takeOver && error instanceof PublishConflictError) {
      // Judged against a version that is no longer served: retrying cannot make it current.
      throw new AgpError(
        'StaleCandidate',
        `${publication.model}: the candidate was judged against ${judgement.comparedWith ?? '(no version)'}, ` +
          `but ${error.actual ?? '(no version)'} is served now; nothing was published (the next ` +
          'run is judged against what is served then)',
        { cause: error },
      );
    }
    throw error;
  });

  function publish(): Promise<Manifest> {
    return registry.publish(
      publication.model,
      { sourceDir: publication.checkpointDir },
      {
        parent: null,
        phase: 'offline',
        configHash: hashConfig(versionConfig),
        dataRange: { kind: 'offline', source: report.dataset, rows: report.rowsTrained },
        metrics: offlineMetrics(report),
        ...(publication.widths ? { widths: publication.widths } : {}),
        backend: report.backend,
        config: versionConfig,
        ...(publication.window ? { window: publication.window } : {}),
        ...(publication.runId === undefined ? {} : { runId: publication.runId }),
        ...(judgement
          ? {
              judgement,
              gate: {
                held: !judgement.passed,
                reasons: judgement.passed ? [] : [judgement.reason],
                comparedWith: judgement.comparedWith,
              },
            }
          : {}),
      },
      takeOver && judgement ? { expect: judgement.comparedWith } : {},
    );
  }
}
