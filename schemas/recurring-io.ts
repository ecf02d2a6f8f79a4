import { z } from 'zod';
import { EventValidation } from './event-validation';
import { KafkaOffsets, ModelName, TowerWidths } from './manifest';
import { PublishEvery, resolvePublishEvery } from './publish-every';
import { RecurringOptimizer } from './recurring-optimizer';
import { Metrics, Topic, Version } from './workflow-common';

/**
 * Inputs and outputs of the recurring workflow and its window activity (re-exported by
 * schemas/workflow-io.ts, which holds the rest): small JSON only, as Temporal stores every value
 * in the workflow history.
 */

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
  /** Versions of exactly `eventsPerVersion` (`publishEvery.exact`). @default false */
  exactVersions: z.boolean().optional(),
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
  /**
   * Where the window's wall time went, ms per phase (src/stream/window-timings.ts), and its
   * publishes' boundary → durable times; absent when earlier attempts had published everything.
   */
  timings: z
    .object({
      phasesMs: z.record(z.string(), z.number()),
      publishes: z.number().int().min(0),
      publishMedianMs: z.number().min(0),
      publishMaxMs: z.number().min(0),
    })
    .optional(),
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
