import { z } from 'zod';
import { CandidateJudgement, KafkaOffsets, ModelName, ModelVersion, TowerWidths } from './manifest';
import { PublishEvery } from './publish-every';
import { RecurringOptimizer } from './recurring-optimizer';
import { ResolvedWindow, TrainingWindow } from './training-window';
import { Metrics, Topic, Version } from './workflow-common';

export { Metrics } from './workflow-common';
export * from './recurring-io';

/**
 * Inputs and outputs of the Temporal workflows and activities. Everything here is small JSON
 * (manifest references, offsets, metrics): never weights, never a Map, because Temporal stores
 * every value in the workflow history and the default converter only round-trips plain JSON.
 * Activities parse their input with these schemas; workflows only pass them along.
 */

// ---------------------------------------------------------------------------------------------
// Offline phase

/** The offline training activity's heartbeat timeout (see OfflineTrainingInput). */
const OfflineHeartbeatTimeoutSeconds = z
  .number({ error: 'heartbeatTimeoutSeconds must be a number of seconds' })
  .min(5, 'heartbeatTimeoutSeconds must be at least 5: shorter, a busy worker times out')
  .max(3600, 'heartbeatTimeoutSeconds must be at most 3600 (1 hour)');

/**
 * How a daily candidate is judged and published (src/pipeline/judge-on-window.ts): scored on the
 * run's test split next to the served version on the same rows; a candidate that fails is
 * published `held` (listed, verifiable, never `latest`).
 */
export const JudgeCandidate = z.strictObject({
  /** The served version to compare with; null when nothing is served (the candidate passes). */
  servedVersion: Version.nullable(),
  /** Passes unless NE > served NE × (1 + tolerance) + 2 standard errors of the difference. */
  tolerance: z.number().min(0).max(1),
  /**
   * A candidate that passes: `latest` makes it `latest` at once (compare-and-set on the served
   * version: files-only retraining); `standby` publishes it beside the served lineage for a
   * recurring phase to take over (a hand-over).
   */
  onPass: z.enum(['latest', 'standby']),
});
export type JudgeCandidate = z.infer<typeof JudgeCandidate>;

/** Input of the `offlineTraining` workflow and of its activity `trainOfflineModel`. */
export const OfflineTrainingInput = z.object({
  model: ModelName,
  /** The training configuration as JSON (schemas/train-config.ts); the activity parses it. */
  trainConfig: z.record(z.string(), z.unknown()),
  /** Write a resumable checkpoint every this many steps (0: only at the end). @default 0 */
  checkpointEvery: z.number().int().min(0).default(0),
  /** The data window the config's sources were resolved from; recorded in the manifest. */
  window: ResolvedWindow.optional(),
  /**
   * Heartbeat timeout of the training activity: how long a silent attempt (its worker died or
   * hangs) is trusted before the run is retried on another worker. Short means a quick
   * failover; the activity heartbeats at least every quarter of it, so it only needs to cover
   * a stall of the worker (a long GC pause, a swapped-out host). @default 120
   */
  heartbeatTimeoutSeconds: OfflineHeartbeatTimeoutSeconds.default(120),
  /** Judge the model before publishing it (a daily candidate); absent: publish as it is. */
  judge: JudgeCandidate.optional(),
});
export type OfflineTrainingInput = z.input<typeof OfflineTrainingInput>;

/** What an offline run published. */
export const OfflineTrainingResult = z.object({
  model: ModelName,
  version: Version,
  /** Held-out metrics of the final model plus throughput figures. */
  metrics: Metrics,
  widths: TowerWidths.optional(),
  /** One line for the memo: schedule, rows, FLOP saving. */
  summary: z.string(),
  /** The judgement of a judged run (its `judge` input). */
  judgement: CandidateJudgement.optional(),
});
export type OfflineTrainingResult = z.infer<typeof OfflineTrainingResult>;

/** Heartbeat details of `trainOfflineModel`: how far the run got, for operators and retries. */
export const OfflineHeartbeat = z.object({
  /**
   * The run's directory on the worker that heartbeated it. For the record only: a retry may run
   * on another host, so it derives its own directory under its own data directory.
   */
  runDir: z.string().min(1),
  step: z.number().int().min(0),
  totalSteps: z.number().int().min(0),
  /** Set once the model is published: a retry returns it instead of training again. */
  published: OfflineTrainingResult.optional(),
});
export type OfflineHeartbeat = z.infer<typeof OfflineHeartbeat>;

// ---------------------------------------------------------------------------------------------
// Registry and evaluation

/** Input of `discardUpdate` and the `discardVersion` activity: drop a held version. */
export const DiscardInput = z.object({
  model: ModelName,
  version: Version,
  reason: z.string().max(1000).optional(),
});
export type DiscardInput = z.input<typeof DiscardInput>;

/** Input of `promoteUpdate` and the `promoteVersion` activity. */
export const PromoteInput = z.object({
  model: ModelName,
  version: Version,
  reason: z.string().max(1000).optional(),
});
export type PromoteInput = z.input<typeof PromoteInput>;

/** What the registry says about a version, for workflows. */
export const VersionInfo = z.object({
  model: ModelName,
  version: Version,
  phase: z.enum(['offline', 'recurring']),
  parent: Version.nullable(),
  metrics: Metrics,
  /** The version's Kafka offsets (next to consume); empty for an offline version. */
  offsets: KafkaOffsets,
});
export type VersionInfo = z.infer<typeof VersionInfo>;

/** Input of the `evaluateVersions` activity: score both versions on the newest events. */
export const EvaluateInput = z.object({
  model: ModelName,
  candidate: Version,
  baseline: Version,
  topic: Topic,
  /** How many of the newest events (over all partitions) to score. @default 5000 */
  events: z.number().int().positive().default(5000),
});
export type EvaluateInput = z.input<typeof EvaluateInput>;

/** Both versions' metrics on the same events. */
export const EvaluateResult = z.object({
  events: z.number().int().min(0),
  candidate: Metrics,
  baseline: Metrics,
});
export type EvaluateResult = z.infer<typeof EvaluateResult>;

// ---------------------------------------------------------------------------------------------
// Daily retraining

/** Input of `dailyRetraining` (what the Schedule passes every day). */
export const DailyRetrainingInput = z.object({
  model: ModelName,
  /**
   * The training configuration (schemas/train-config.ts). With `window`, its `data` has no
   * `train` and `test`: they are resolved from the window at the nominal time.
   */
  trainConfig: z.record(z.string(), z.unknown()),
  /** The data window, relative to the nominal time; absent: `trainConfig.data` as it is. */
  window: TrainingWindow.optional(),
  /**
   * The run's nominal time (ISO 8601). A scheduled run leaves it out and takes the Schedule's
   * scheduled start time (search attribute `TemporalScheduledStartTime`); a catch-up started by
   * hand names the time it stands in for. Never the wall clock.
   */
  nominalTime: z.iso.datetime({ offset: true }).optional(),
  /**
   * The click topic of the recurring phase. Without one the candidate is judged on its
   * window's test split and made `latest` when it passes; nothing is handed over.
   */
  topic: Topic.optional(),
  /**
   * Train even when a version for this nominal time exists (a repeated catch-up otherwise
   * returns the existing one). @default false
   */
  force: z.boolean().default(false),
  /**
   * The candidate passes unless its NE on the test split exceeds the served version's on the
   * same rows by more than tolerance × that NE plus two standard errors. @default 0.005
   */
  tolerance: z.number().min(0).max(1).default(0.005),
  /** Newest events of `topic` to compare on when the run has no judged test split. @default 5000 */
  evalEvents: z.number().int().positive().default(5000),
  /** The child offline run's heartbeat timeout (OfflineTrainingInput). @default 120 */
  offlineHeartbeatTimeoutSeconds: OfflineHeartbeatTimeoutSeconds.optional(),
  /** Settings of the recurring workflow when it has to be started. */
  recurring: z
    .object({
      publishEvery: PublishEvery.optional(),
      eventsPerVersion: z.number().int().positive().optional(),
      windowVersions: z.number().int().positive().optional(),
      windowSeconds: z.number().positive().optional(),
      publishEverySeconds: z.number().positive().optional(),
      /** `recurring.optimizer` (schemas/recurring-optimizer.ts). */
      optimizer: RecurringOptimizer.optional(),
    })
    .default({}),
});
export type DailyRetrainingInput = z.input<typeof DailyRetrainingInput>;

/** What a daily run decided, and why. */
export const DailyRetrainingResult = z.object({
  candidate: Version,
  current: Version.nullable(),
  candidateNe: z.number().nullable(),
  currentNe: z.number().nullable(),
  handedOver: z.boolean(),
  /** The candidate is (or was made) `latest`: it passed with no recurring phase to hand to. */
  promoted: z.boolean().default(false),
  /** The version existed for this nominal time; nothing was trained (a repeated catch-up). */
  existing: z.boolean().default(false),
  reason: z.string(),
  /** The nominal time and resolved window of a windowed run. */
  nominalTime: z.string().optional(),
  window: z.string().optional(),
});
export type DailyRetrainingResult = z.infer<typeof DailyRetrainingResult>;

/** The well-known workflow id of a model's recurring workflow (one per model). */
export function recurringWorkflowId(model: string): string {
  return `agp-recurring-${model}`;
}

/** Version ids as the registry types them (for src/ calls). */
export function asModelVersion(version: string): ModelVersion {
  return ModelVersion.parse(version);
}

/** Input of the `findDailyVersion` activity: the version a run for this nominal time made. */
export const FindDailyVersionInput = z.object({
  model: ModelName,
  nominalTime: z.iso.datetime({ offset: true }),
});
export type FindDailyVersionInput = z.input<typeof FindDailyVersionInput>;

/** A version a daily run published for a nominal time, with its judgement. */
export const DailyVersion = z.object({
  version: Version,
  latest: z.boolean(),
  held: z.boolean(),
  judgement: CandidateJudgement.nullable(),
  metrics: Metrics,
});
export type DailyVersion = z.infer<typeof DailyVersion>;

/** Input of the `checkTopic` activity. */
export const CheckTopicInput = z.object({ topic: Topic });
export type CheckTopicInput = z.input<typeof CheckTopicInput>;

/** Input of the `resolveTrainingWindow` activity. */
export const ResolveWindowInput = z.object({
  window: TrainingWindow,
  /** Epoch ms or ISO 8601. */
  nominalTime: z.iso.datetime({ offset: true }),
  /** The training config whose `data.features` (or Criteo default) decodes Kafka events. */
  trainConfig: z.record(z.string(), z.unknown()),
});
export type ResolveWindowInput = z.input<typeof ResolveWindowInput>;

/** The resolved window: concrete sources (data-source JSON) and what the manifest records. */
export const ResolveWindowResult = z.object({
  train: z.record(z.string(), z.unknown()),
  test: z.record(z.string(), z.unknown()),
  window: ResolvedWindow,
  summary: z.string(),
});
export type ResolveWindowResult = z.infer<typeof ResolveWindowResult>;
