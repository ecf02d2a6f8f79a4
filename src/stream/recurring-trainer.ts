import type { Kafka } from 'kafkajs';
import { EventValidation, type EventValidationInput } from '../../schemas/event-validation';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { parseOrThrow } from '../../schemas/zod-errors';
import { createDeadLetterSink, defaultDeadLetterTopic } from './dead-letter';
import { computeLag, type TopicOffsets } from './offsets';
import {
  normalizeOffsets,
  startPositions,
  watermarks,
  type OffsetsInput,
} from './window-positions';
import { createPartitionFairness } from './fair-partitions';
import type { HeldBackConfig, HeldBackEntry } from './held-back-slice';
import { createPublishInFlight } from './publish-in-flight';
import { consume, createSerial } from './window-consume';
import { WindowClock, type WindowTimings } from './window-timings';
import {
  createTrainingLoop,
  type BackgroundPublish,
  type ProgressiveMetrics,
  type PublishRequest,
  type StreamTrainer,
  type TrainingLoop,
  type TrainingLoopStats,
} from './training-loop';

/**
 * The recurring phase without Temporal: consume click events from Kafka, validate, dead-letter
 * the bad ones, score then train micro-batches, and publish versions. Exactly-once effect on the
 * model: the consumer seeks every partition to the starting checkpoint's offsets (never the
 * group's committed offsets), a version carries the offsets of exactly the events its weights
 * contain, and group offsets are committed only after `publishVersion` resolved (they serve
 * monitoring and lag tools, not correctness).
 *
 * One trainer per consumer group: a second member would take partitions away mid-window.
 */

export { normalizeOffsets, type OffsetsInput } from './window-positions';

/** Progress reported on a clock (the Temporal activity heartbeats it). */
export interface WindowProgress {
  stats: TrainingLoopStats;
  /** Current positions (next offset per partition). */
  offsets: TopicOffsets;
  /** Trained events per second since the window started. */
  eventsPerSecond: number;
  /** Latest progressive-validation figures. */
  metrics: Record<string, number>;
}

/** Dependencies of {@link runWindow}: the seams to Kafka, the model and the registry. */
export interface RecurringTrainerDeps {
  kafka: Kafka;
  trainer: StreamTrainer;
  spec: FeatureSpec;
  /** The progressive-validation window; it outlives a window so metrics carry over. */
  metrics: ProgressiveMetrics;
  /**
   * Saves a checkpoint and publishes a version; the group offsets are committed once it is
   * durable: when it resolves, or when its {@link BackgroundPublish}'s `durable` does (training
   * goes on meanwhile; the next version waits for it).
   */
  publishVersion(request: PublishRequest): Promise<void | BackgroundPublish>;
}

/** Settings of one window. */
export interface WindowOptions {
  topic: string;
  groupId: string;
  /** The starting checkpoint's offsets; partitions absent start at `startFrom`. @default {} */
  startOffsets?: OffsetsInput;
  /** Where a partition missing from `startOffsets` starts. @default 'earliest' */
  startFrom?: 'earliest' | 'latest';
  /** @default 256 */
  batchSize?: number;
  /**
   * A version is due after this many consumed events. While the previous version is still
   * publishing, training goes on and the boundary is taken once that publish is durable, so a
   * version may hold more (per-version costs never hold a throughput-bound stream up).
   * @default 10_000
   */
  publishEveryEvents?: number;
  /**
   * Every version holds exactly `publishEveryEvents` events (a boundary due while the previous
   * version publishes waits for it, training with it), as before issue 23: for reproducible
   * version contents, at the price of throughput when a publish outlasts a version's training.
   * @default false
   */
  exactVersions?: boolean;
  /** …or after this many seconds, if at least one event was consumed. @default 60 */
  publishEverySeconds?: number;
  /** The window ends after this many versions. @default 1 */
  versions?: number;
  /**
   * …or once past this many seconds (the consumer, its group membership and the trainer serve
   * every version of a window): at the first version boundary after it, else within a second,
   * publishing what was consumed since the last version (nothing on an idle topic). Unset: by
   * `versions` only.
   */
  windowSeconds?: number;
  /** @default `<topic>.dlq` */
  deadLetterTopic?: string;
  /** Record trained event ids in every publish request (the exactly-once test). @default false */
  recordTrainedIds?: boolean;
  /** Event-time bounds and optional dedupe (schemas/event-validation). @default its defaults */
  eventValidation?: EventValidationInput;
  /** Events set aside for the publish gate (src/stream/held-back-slice.ts). Unset: none. */
  holdBack?: HeldBackConfig;
  /** The slice the starting version stored. @default [] */
  initialHeldBack?: readonly HeldBackEntry[];
  /** The lr factor of each step (`recurring.optimizer`). Unset: the configured rates. */
  lrScale?: () => number;
  /** Ends the window early (no publish of the partial version). */
  signal?: AbortSignal;
  /** Called every `progressEveryMs`, also while the topic is idle (heartbeats). */
  onProgress?: (progress: WindowProgress) => void;
  /** @default 1000 */
  progressEveryMs?: number;
  /** Longest a fetch waits for data, ms. @default 200 */
  maxWaitMs?: number;
  /**
   * The group coordinator evicts the member after this long without a heartbeat, ms (at least
   * the broker's group.min.session.timeout.ms, 6000 by default). It is also how long a window
   * waits after a broker restart (or after a worker was SIGKILLed) before it can consume: its
   * predecessor in the group (a member of the same group that never left) must expire first.
   * The trainer heartbeats while it trains and publishes, so a long batch does not need a long
   * session (kafkajs' 30 s default made that wait 30 s). @default 10_000
   */
  sessionTimeoutMs?: number;
  /** Heartbeats are sent at most this often, ms; keep it well below the session timeout. @default 3000 */
  heartbeatIntervalMs?: number;
  /**
   * Most bytes a fetch returns per partition: bounds the events handed to one batch (~2,000
   * events of ~500 bytes at the default). Liveness does not depend on it, as the trainer
   * heartbeats while it works through a batch. @default 1_048_576
   */
  maxBytesPerPartition?: number;
  /**
   * Fair consumption (src/stream/fair-partitions.ts): a partition whose lag is more than
   * `maxSpread` events below the most lagging partition's is paused until it is within half of
   * that, so a backlog on one partition is caught up before the others move on. `false` turns
   * it off. @default maxSpread = half of `publishEveryEvents`
   */
  fairness?: { maxSpread: number; stallMs?: number } | false;
  /** How often partition ends are read for fair consumption, ms. @default 1000 */
  endsEveryMs?: number;
  /**
   * Decode, validate and encode each fetched batch on a worker thread while the model trains
   * (src/stream/decode-pool.ts; same results), ended with the window. Off by default: on this
   * 2-core machine it measured no gain (bench:recurring-loop 0.84× vs 0.85× in place;
   * bench:fleet 10,302 vs 11,395 events/s at the main cadence) — TensorFlow's step already uses
   * the second core part of the time, and the hand-over costs the training thread about what
   * decoding did. @default false
   */
  decodeThread?: boolean;
}

/** What a window did. */
export interface WindowResult {
  stats: TrainingLoopStats;
  /** Offsets of the last published version (the start when none was published). */
  offsets: TopicOffsets;
  /**
   * True when the trainer holds events that no version contains (the window was aborted): the
   * caller must reload the latest checkpoint before the next window, or those events would be
   * trained twice.
   */
  dirty: boolean;
  elapsedSeconds: number;
  eventsPerSecond: number;
  /** high watermark − published position, summed over partitions, at the end of the window. */
  lag: number;
  lagByPartition: TopicOffsets;
  metrics: Record<string, number>;
  stoppedBy: 'versions' | 'time' | 'abort';
  /** Times the consumer joined its group: 1 unless it was evicted or the group rebalanced. */
  groupJoins: number;
  /** Where the window's time went (src/stream/window-timings.ts). */
  timings: WindowTimings;
}

/** See {@link WindowOptions.sessionTimeoutMs}. */
const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/**
 * Runs one window: consumes from the starting offsets until `versions` versions are published
 * or `signal` aborts. Throws (after disconnecting) when Kafka, the trainer or `publishVersion`
 * fails; the trainer is then dirty and must be reloaded from the latest checkpoint.
 */
export async function runWindow(
  deps: RecurringTrainerDeps,
  options: WindowOptions,
): Promise<WindowResult> {
  const { topic } = options;
  const wanted = options.versions ?? 1;
  const validation = parseOrThrow(
    EventValidation,
    options.eventValidation ?? {},
    'eventValidation',
  );
  const admin = deps.kafka.admin();
  const producer = deps.kafka.producer({ allowAutoTopicCreation: true });
  const consumer = deps.kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitMs ?? 200,
    allowAutoTopicCreation: false,
    sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    // After a broker outage the consumer crashes out of its retries and kafkajs restarts it
    // after the last backoff; capped at 2 s, a broker that is back is used within 2 s, not 9.
    retry: { initialRetryTime: 300, maxRetryTime: 2_000, retries: 5 },
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatInterval: options.heartbeatIntervalMs }),
    ...(options.maxBytesPerPartition === undefined
      ? {}
      : { maxBytesPerPartition: options.maxBytesPerPartition }),
  });
  let groupJoins = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => void groupJoins++);
  const started = Date.now();
  const clock = new WindowClock();
  const phaseStart = performance.now();
  const timers: NodeJS.Timeout[] = [];
  let onAbort: (() => void) | undefined;
  const serial = createSerial();
  // A failed background publish is reported through `consume` (its `fail`); the hook is set there.
  let failWindow: (error: unknown) => void = () => undefined;
  const publishes = createPublishInFlight((error) => failWindow(error));
  let loop: TrainingLoop | undefined;
  try {
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    const marks = await watermarks(admin, topic);
    const start = startPositions(
      topic,
      normalizeOffsets(options.startOffsets ?? {}),
      marks,
      options.startFrom ?? 'earliest',
    );
    const deadLetterTopic = options.deadLetterTopic ?? defaultDeadLetterTopic(topic);
    const deadLetters = createDeadLetterSink(producer, () => deadLetterTopic);
    loop = createTrainingLoop({
      trainer: deps.trainer,
      spec: deps.spec,
      metrics: deps.metrics,
      deadLetters,
      publishVersion: deps.publishVersion,
      startOffsets: start,
      batchSize: options.batchSize ?? 256,
      publishEveryEvents: options.publishEveryEvents ?? 10_000,
      recordTrainedIds: options.recordTrainedIds ?? false,
      validation,
      ...(options.holdBack === undefined ? {} : { holdBack: options.holdBack }),
      ...(options.initialHeldBack === undefined
        ? {}
        : { initialHeldBack: options.initialHeldBack }),
      ...(options.lrScale === undefined ? {} : { lrScale: options.lrScale }),
      decodeThread: options.decodeThread ?? false,
    });
    const fairness =
      options.fairness === false
        ? undefined
        : createPartitionFairness(
            options.fairness ?? {
              maxSpread: Math.max(1, Math.floor((options.publishEveryEvents ?? 10_000) / 2)),
            },
          );
    for (const [partition, end] of Object.entries(marks.high[topic] ?? {})) {
      fairness?.setEnd(Number(partition), end);
      fairness?.setPosition(Number(partition), start[topic]?.[partition] ?? end);
    }
    clock.add('start', performance.now() - phaseStart);
    const finished = await consume(consumer, loop, deadLetters.flush, {
      ...options,
      ...(fairness === undefined
        ? {}
        : { fair: { fairness, ends: async () => (await watermarks(admin, topic)).high } }),
      wanted,
      started,
      serial,
      publishes,
      clock,
      onFailHook: (f) => (failWindow = f),
      metrics: deps.metrics,
      onTimer: (t) => timers.push(t),
      onAbortHook: (f) => (onAbort = f),
    });
    timers.forEach(clearInterval);
    const closing = performance.now();
    // Let a publish or batch already under way finish before leaving the group, and the
    // version published in the background become durable and committed (or fail the window).
    await serial(() => Promise.resolve());
    await publishes.settled();
    await consumer.disconnect();
    const end = await watermarks(admin, topic);
    const lag = computeLag(end.high, loop.publishedOffsets(), end.low);
    const stats = loop.stats();
    const elapsedSeconds = (Date.now() - started) / 1000;
    clock.add('close', performance.now() - closing);
    return {
      stats,
      offsets: loop.publishedOffsets(),
      dirty: stats.sinceVersion > 0,
      elapsedSeconds,
      eventsPerSecond: stats.trained / Math.max(elapsedSeconds, 1e-3),
      lag: lag.total,
      lagByPartition: lag.byPartition,
      metrics: deps.metrics.snapshot(),
      stoppedBy: finished,
      groupJoins,
      timings: clock.snapshot(),
    };
  } finally {
    timers.forEach(clearInterval);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    // A failed window returns only once its publish in flight ended: nothing of it is
    // published after the attempt failed, and its copies are not disposed under it.
    await publishes.settled().catch(() => undefined);
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    await loop?.close();
  }
}
