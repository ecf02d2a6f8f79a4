import type { DataSourceConfigInput } from '../../schemas/data-source';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { ModelVersion, type CandidateJudgement } from '../../schemas/manifest';
import { parseOrThrow } from '../../schemas/zod-errors';
import { openSource } from '../data/open-source';
import { DataError } from '../errors';
import { evaluateBinary } from '../metrics/evaluate';
import { pairedComparison } from '../metrics/paired-comparison';
import type { Trainer } from '../model/trainer';
import type { RegistryStore } from '../registry/store';
import { createEventLoopYield } from '../train/event-loop-yield';
import { loadTrainerFromVersion } from './model-version';

/**
 * How many standard errors of the paired difference a candidate may be worse by, beyond the
 * tolerance, before it fails: the same margin as the recurring publish gate (2 ≈ a one-sided
 * false-alarm rate of 2.3% for a candidate exactly as good as the served one).
 */
export const JUDGE_STD_ERRS = 2;

/** What {@link judgeOnTestSplit} compares. */
export interface JudgeOnTestSplit {
  model: string;
  /** The candidate as it will be served: its trainer and the spec it is published with. */
  candidate: { trainer: Trainer; spec: FeatureSpec };
  /** The run's test split (a window's test days). */
  test: DataSourceConfigInput;
  /** The served version; null when nothing is served (the candidate passes). */
  servedVersion: string | null;
  tolerance: number;
  /** One word on the rows, e.g. `test days 2025-06-04..2025-06-04`. */
  describeTest: string;
}

/** Predictions and labels of every row of `source`, in order. */
async function predictAll(
  trainer: Trainer,
  test: DataSourceConfigInput,
  spec: FeatureSpec,
): Promise<{ preds: Float32Array; labels: Float32Array }> {
  const preds: number[] = [];
  const labels: number[] = [];
  const yieldEventLoop = createEventLoopYield();
  for await (const batch of openSource(test, spec).batches({ batchSize: 2048 })) {
    await yieldEventLoop();
    const p = trainer.predict(batch);
    for (let i = 0; i < batch.size; i++) {
      preds.push(p[i] as number);
      labels.push(batch.labels[i] as number);
    }
  }
  return { preds: Float32Array.from(preds), labels: Float32Array.from(labels) };
}

/**
 * Judges a daily candidate against the served version on the same rows of the run's test split
 * (each model reads them with its own feature spec, so each sees them as it would serve them):
 * a paired comparison of per-row log losses. The candidate fails when its NE exceeds the served
 * version's by more than `tolerance` × that NE plus {@link JUDGE_STD_ERRS} standard errors of
 * the paired difference, or when the rows cannot tell (all one label, fewer than two rows).
 *
 * @throws DataError when the two reads of the split disagree on its rows.
 */
export async function judgeOnTestSplit(
  registry: RegistryStore,
  options: JudgeOnTestSplit,
): Promise<CandidateJudgement> {
  const { tolerance } = options;
  const candidate = await predictAll(
    options.candidate.trainer,
    options.test,
    options.candidate.spec,
  );
  if (options.servedVersion === null) {
    const ne =
      candidate.labels.length > 0 ? evaluateBinary(candidate.preds, candidate.labels).ne : NaN;
    return {
      passed: true,
      comparedWith: null,
      on: `${options.describeTest} (${candidate.labels.length} rows)`,
      rows: candidate.labels.length,
      candidateNe: Number.isFinite(ne) ? ne : null,
      servedNe: null,
      diffStdErr: null,
      tolerance,
      reason:
        'nothing is served yet: the candidate is the first version' +
        (Number.isFinite(ne) ? ` (NE ${ne.toFixed(5)} on ${options.describeTest})` : ''),
    };
  }
  const servedVersion = parseOrThrow(ModelVersion, options.servedVersion, 'servedVersion');
  const served = await loadTrainerFromVersion(registry, options.model, servedVersion);
  let baseline;
  try {
    baseline = await predictAll(served.trainer, options.test, served.spec);
  } finally {
    served.trainer.dispose();
  }
  if (baseline.labels.length !== candidate.labels.length) {
    throw new DataError(
      `${options.describeTest}: read ${candidate.labels.length} rows for the candidate but ` +
        `${baseline.labels.length} for ${servedVersion}; the files changed while being judged`,
    );
  }
  const rows = candidate.labels.length;
  const on = `${options.describeTest} (${rows} rows)`;
  const paired = pairedComparison(candidate.preds, baseline.preds, candidate.labels);
  if (paired === null) {
    return {
      passed: false,
      comparedWith: servedVersion,
      on,
      rows,
      candidateNe: null,
      servedNe: null,
      diffStdErr: null,
      tolerance,
      reason:
        `kept ${servedVersion}: ${on} cannot tell the models apart ` +
        '(fewer than two rows, or every label the same)',
    };
  }
  const allowed = tolerance * paired.baselineNe + JUDGE_STD_ERRS * paired.diffStdErr;
  const passed = paired.diff <= allowed;
  const figures =
    `NE ${paired.candidateNe.toFixed(5)} vs ${paired.baselineNe.toFixed(5)} of ` +
    `${servedVersion} on ${on}, paired difference ${paired.diff.toFixed(5)} ± ` +
    `${paired.diffStdErr.toFixed(5)} (allowed ${allowed.toFixed(5)}: tolerance ${tolerance} + ` +
    `${JUDGE_STD_ERRS} standard errors)`;
  return {
    passed,
    comparedWith: servedVersion,
    on,
    rows,
    candidateNe: paired.candidateNe,
    servedNe: paired.baselineNe,
    diffStdErr: paired.diffStdErr,
    tolerance,
    reason: passed ? `passed: ${figures}` : `failed: worse than ${servedVersion}, ${figures}`,
  };
}
