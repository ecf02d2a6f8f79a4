import { z } from 'zod';
import { EventValidation } from './event-validation';
import { CandidateJudgement, KafkaOffsets, ModelName, ModelVersion, TowerWidths } from './manifest';
import { PublishEvery, resolvePublishEvery } from './publish-every';
import { RecurringOptimizer } from './recurring-optimizer';
import { ResolvedWindow, TrainingWindow } from './training-window';

/**
 * Inputs and outputs of the Temporal workflows and activities. Everything here is small JSON
 * (manifest references, offsets, metrics): never weights, never a Map, because Temporal stores
 * every value in the workflow history and the default converter only round-trips plain JSON.
 * Activities parse their input with these schemas; workflows only pass them along.
 */

/** A version id as workflows carry it (plain string: brands do not survive JSON). */
const Version = z.string().regex(/^v\d{6,}$/, 'a version looks like v000001');

/** Figures of a model: logloss, ne, auc, calibration, events, … (finite numbers only). */
export const Metrics = z.record(z.string().min(1), z.number());
export type Metrics = z.infer<typeof Metrics>;

/** A Kafka topic name. */
const Topic = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1–249 of [A-Za-z0-9._-]');

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
// Recurring phase

/**
 * The publish gate of the recurring phase: each version's progressive NE and calibration on its
 * window are compared with the served parent's; a version that regresses past a tolerance is
 * published as `held` (listed, never `latest`), and training continues from the good version.
 */
export const PublishGate = z.object({
  /** @default true */
  enabled: z.boolean().default(true),
  /**
   * Hold when NE > parent NE × (1 + ne). Progressive NE over a 10k-event window moves by about
   * 1% between healthy versions; 3% is a regression, not noise. @default 0.03
   */
  ne: z.number().min(0).default(0.03),
  /** Hold when |calibration − 1| grows by more than this over the parent's. @default 0.15 */
  calibration: z.number().min(0).default(0.15),
  /** After this many consecutive held versions the workflow pauses itself. @default 3 */
  maxConsecutiveHolds: z.number().int().positive().default(3),
  /**
   * Fraction of valid events held back: consumed and counted in a version's offsets but never
   * trained, so the gate can score the candidate and its served parent on the same recent
   * events (a paired comparison, which also works against an offline parent). Which events is
   * a hash of their position, so a retried window holds back the same ones. 0 turns it off.
   * @default 0.02
   */
  holdBackFraction: z.number().min(0).max(0.5).default(0.02),
  /** The paired comparison uses the most recent this many held-back events. @default 2000 */
  holdBackEvents: z.number().int().min(1).max(100_000).default(2000),
  /**
   * Held-back events needed to judge a version. The slice is stored with every version, so
   * only the first window after an offline hand-over starts without one: it holds back every
   * valid event until it has this many (at most half a version, at least 100), and publishes
   * nothing before. 2,000 (the whole slice) rather than 500: at 1,000-event versions the
   * gate let 11 of 30 poisoned streams serve a version > 2% worse than the best before it with
   * 500, 4 of 20 with 2,000 (`npm run bench:gate`, bench/results/gate*.json). @default 2000
   */
  minHeldBackEvents: z.number().int().min(100).max(100_000).default(2000),
  /**
   * The relative NE loss on the held-back events that a candidate may have against the last
   * served version or the offline version its chain descends from before the paired test
   * counts it as a regression. @default 0.005 (chosen by `npm run bench:gate`)
   */
  heldBackNe: z.number().min(0).max(1).default(0.005),
  /**
   * The held-back test's false-alarm rate: the chance that a candidate exactly `heldBackNe`
   * worse than its references is held (split evenly over the two references). @default 0.01
   */
  falseAlarmRate: z.number().gt(0).lt(0.5).default(0.01),
});
export type PublishGate = z.input<typeof PublishGate>;

/** A version the gate held, and why. */
export const HeldVersion = z.object({ version: Version, reasons: z.array(z.string()) });
export type HeldVersion = z.infer<typeof HeldVersion>;

/** Counters and quality figures the recurring workflow accumulates across windows. */
export const RecurringState = z.object({
  /** The newest version the recurring phase trains from (its parent for the next publish). */
  version: Version,
  /** Next offsets to consume; empty until the first window ends (the version's own offsets). */
  offsets: KafkaOffsets,
  versionsPublished: z.number().int().min(0),
  eventsTrained: z.number().int().min(0),
  deadLettered: z.number().int().min(0),
  eventsPerSecond: z.number().min(0),
  /** Streaming (progressive-validation) NE; null before the first window. */
  ne: z.number().nullable(),
  lag: z.number().min(0),
  /** Every version this run (and its continued-as-new predecessors) published, oldest first. */
  published: z.array(Version),
  /** Windows run by this execution (reset by continueAsNew). */
  iterations: z.number().int().min(0),
  paused: z.boolean(),
  /** Why the workflow paused itself (too many held versions); null when it did not. */
  pausedReason: z.string().nullable().default(null),
  /** The newest version of the lineage, held ones included: what the next publish expects. */
  head: Version.optional(),
  /** Held versions not yet promoted or discarded, oldest first. */
  held: z.array(HeldVersion).default([]),
  /** Held versions in a row since the last served one. */
  consecutiveHolds: z.number().int().min(0).default(0),
  /** The last revert the watch published, with why (shown in the memo). */
  reverted: z.string().optional(),
  /**
   * The served version a pending hand-over replaces, until the new lineage has published (the
   * hand-over's compare-and-set expects it).
   */
  supersedes: Version.optional(),
});
export type RecurringState = z.infer<typeof RecurringState>;

/** Input of the `recurringTraining` workflow. */
export const RecurringTrainingInput = z
  .object({
    model: ModelName,
    /** Version to start from: an offline version, or the last recurring one. */
    fromVersion: Version,
    topic: Topic,
    /**
     * A version after `events` consumed events or `seconds` since the last one, whichever comes
     * first (schemas/publish-every.ts). @default { events: 10000, seconds: 60 }
     */
    publishEvery: PublishEvery.optional(),
    /** Alias of `publishEvery.events` (parsed: the resolved value). */
    eventsPerVersion: z.number().int().positive().optional(),
    /** Versions per activity run (window). Unset: as many as fit in `windowSeconds`. */
    windowVersions: z.number().int().positive().optional(),
    /**
     * A window ends at its first version boundary after this many seconds: its Kafka consumer,
     * group membership and trainer serve every version until then, so its start-up is paid
     * once. @default 30 when `windowVersions` is unset, else no time limit
     */
    windowSeconds: z.number().positive().optional(),
    /** Stop after this many versions; undefined runs forever. */
    maxVersions: z.number().int().positive().optional(),
    /** Alias of `publishEvery.seconds` (parsed: the resolved value). */
    publishEverySeconds: z.number().positive().optional(),
    /** Kafka consumer group (its committed offsets are for lag tools only). @default `agp-recurring-<model>` */
    groupId: z.string().min(1).optional(),
    /**
     * Offsets to start from instead of `fromVersion`'s own (a hand-over of an offline version,
     * which has none, continues where the previous recurring model was).
     */
    startOffsets: KafkaOffsets.optional(),
    /** continueAsNew after this many windows even if the server does not suggest it. @default 100 */
    windowsPerRun: z.number().int().positive().default(100),
    /** @default enabled, ne 0.03, calibration 0.15, pause after 3 consecutive holds */
    gate: PublishGate.default({
      enabled: true,
      ne: 0.03,
      calibration: 0.15,
      maxConsecutiveHolds: 3,
      holdBackFraction: 0.02,
      holdBackEvents: 2000,
      minHeldBackEvents: 2000,
      heldBackNe: 0.005,
      falseAlarmRate: 0.01,
    }),
    /**
     * Heartbeat timeout of a window: a silent attempt is retried after it, and an attempt that
     * cannot get a heartbeat acknowledged within half of it (at most 10 s) publishes nothing.
     * @default 60
     */
    heartbeatTimeoutSeconds: z.number().min(5).max(3600).default(60),
    /** The served version `fromVersion` replaces (a hand-over that starts the workflow). */
    supersedes: Version.optional(),
    /**
     * Event-time bounds and optional de-duplication by eventId (schemas/event-validation.ts).
     * @default future skew 1 hour, no lower bound, no de-duplication
     */
    eventValidation: EventValidation.optional(),
    /**
     * `recurring.optimizer`: the recurring phase's learning rates (schemas/recurring-optimizer.ts).
     * @default DEFAULT_RECURRING_OPTIMIZER
     */
    optimizer: RecurringOptimizer.optional(),
    /** Carried over by continueAsNew. */
    state: RecurringState.optional(),
  })
  .transform((input, ctx) => {
    const every = resolvePublishEvery(input, ctx);
    return {
      ...input,
      publishEvery: every,
      eventsPerVersion: every.events,
      publishEverySeconds: every.seconds,
    };
  });
export type RecurringTrainingInput = z.input<typeof RecurringTrainingInput>;
export type RecurringTrainingInputParsed = z.output<typeof RecurringTrainingInput>;

/** Input of the `trainRecurringWindow` activity. */
export const RecurringWindowInput = z.object({
  model: ModelName,
  fromVersion: Version,
  topic: Topic,
  groupId: z.string().min(1),
  eventsPerVersion: z.number().int().positive(),
  versions: z.number().int().positive(),
  publishEverySeconds: z.number().positive().default(60),
  /** The window ends at its first version boundary after this many seconds. Unset: by `versions`. */
  windowSeconds: z.number().positive().optional(),
  startOffsets: KafkaOffsets.optional(),
  /** The lineage's head when the window was scheduled: versions newer than it are this window's. */
  head: Version.optional(),
  /** The served version a hand-over of `fromVersion` replaces. */
  supersedes: Version.optional(),
  /** Gate tolerances; absent: no gate. */
  gate: z
    .object({
      ne: z.number().min(0),
      calibration: z.number().min(0),
      /** The held-back paired test's tolerance and false-alarm rate (PublishGate). */
      heldBackNe: z.number().min(0).max(1).optional(),
      falseAlarmRate: z.number().gt(0).lt(0.5).optional(),
      /** Events set aside for the paired comparison; absent: none. */
      holdBack: z
        .object({
          fraction: z.number().gt(0).max(0.5),
          capacity: z.number().int().min(1),
          minEvents: z.number().int().min(0).optional(),
        })
        .optional(),
    })
    .optional(),
  eventValidation: EventValidation.optional(),
  /** The recurring phase's lr policy; absent: DEFAULT_RECURRING_OPTIMIZER. */
  optimizer: RecurringOptimizer.optional(),
});
export type RecurringWindowInput = z.input<typeof RecurringWindowInput>;

/** What one window did. */
export const RecurringWindowResult = z.object({
  /** The newest served version (the input's when nothing was served). */
  lastVersion: Version,
  /** Every version published, held ones included. */
  versions: z.array(Version),
  /** The versions among them that the gate held. */
  held: z.array(HeldVersion).default([]),
  /** The newest version of the lineage, held ones included. */
  head: Version.optional(),
  /**
   * A revert the watch published: the served version `of` fell significantly behind the one it
   * replaced (`restores`) on later held-back events, so `version` serves `restores`' weights.
   */
  reverted: z
    .object({ version: Version, of: Version, restores: Version, reason: z.string() })
    .optional(),
  /** Offsets of the last published version. */
  offsets: KafkaOffsets,
  consumed: z.number().int().min(0),
  trained: z.number().int().min(0),
  deadLettered: z.number().int().min(0),
  eventsPerSecond: z.number().min(0),
  /** Progressive-validation figures (ne, logloss, auc, calibration, count). */
  metrics: Metrics,
  lag: z.number().min(0),
  widths: TowerWidths.optional(),
});
export type RecurringWindowResult = z.infer<typeof RecurringWindowResult>;

/** Heartbeat details of `trainRecurringWindow`: a retry resumes from the last published version. */
export const RecurringHeartbeat = z.object({
  lastVersion: Version,
  versions: z.array(Version),
  trained: z.number().int().min(0),
  deadLettered: z.number().int().min(0),
  consumed: z.number().int().min(0),
});
export type RecurringHeartbeat = z.infer<typeof RecurringHeartbeat>;

/** What `statusQuery` answers. */
export const RecurringStatus = RecurringState.extend({
  model: ModelName,
  topic: Topic,
  /** What the workflow is doing now. */
  activity: z.enum(['training', 'paused', 'promoting', 'done']),
  /** A hand-over received and not yet applied. */
  pendingHandover: Version.nullable(),
});
export type RecurringStatus = z.infer<typeof RecurringStatus>;

/** Argument of `handoverSignal`: continue from `version` at the current offsets. */
export const Handover = z.object({ version: Version, reason: z.string().optional() });
export type Handover = z.infer<typeof Handover>;

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
