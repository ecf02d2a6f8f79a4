import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ColumnarBatch } from '../data/batch';
import type { EventValidation } from '../../schemas/event-validation';
import { InfraError } from '../errors';
import {
  createStepGuard,
  skipReasonText,
  type SkipReason,
  type StepGuard,
  type StepGuardConfig,
} from '../model/step-guard';
import type { DeadLetterSink } from './dead-letter';
import { createDecodePool, type DecodePool } from './decode-pool';
import { createClipCheck, type DecodedChunk } from './decoded-chunk';
import { createEventIdDedupe } from './dedupe';
import { createEventDecoder } from './event-codec';
import {
  HeldBackSlice,
  isHeldBack,
  type HeldBackConfig,
  type HeldBackEntry,
} from './held-back-slice';
import { createMicroBatcher } from './micro-batcher';
import { createOffsetTracker, type TopicOffsets } from './offsets';
import { fromChunk, idOf, timeOf, validEventsToBatch, type ValidEvent } from './valid-event';

/**
 * The Kafka-free core of the recurring trainer: decode → dead-letter or micro-batch → score
 * (progressive validation) → train → account offsets → publish. The Kafka consumer feeds it
 * messages in partition order; everything here is deterministic given the messages.
 */

/** What the recurring phase needs of a model: the src/model Trainer satisfies it. */
export interface StreamTrainer {
  /**
   * One optimisation step on the batch, returning the batch's predictions from the step's own
   * forward pass (the model before this step's update: progressive validation scores them).
   * With a `guard`, a step it rejects changes nothing and reports why in `skipped`.
   */
  step(
    batch: ColumnarBatch,
    opts: { guard?: StepGuard; predictions: true; lrScale?: number },
  ): StepOutcome | Promise<StepOutcome>;
}

/** What a stream training step reports. */
export interface StepOutcome {
  loss: number;
  skipped?: SkipReason;
  /** Click probabilities [B] before the update (asked for with `predictions: true`). */
  predictions?: Float32Array;
}

/** Windowed progressive-validation metrics (src/metrics' streaming accumulator satisfies it). */
export interface ProgressiveMetrics {
  /** Adds predictions made BEFORE training on these labels. */
  add(predictions: Float32Array, labels: Float32Array): void;
  /** Current window figures, e.g. { logLoss, ne, auc, calibration, count }. */
  snapshot(): Record<string, number>;
}

/** Event-time span (epoch ms) of the trained events. */
export interface EventTimeRange {
  min: number;
  max: number;
}

/** What the trainer hands to `publishVersion`: everything a manifest needs. */
export interface PublishRequest {
  /** Offsets of the previous version (or the window's start): this version trained [from, to). */
  fromOffsets: TopicOffsets;
  /** Next offsets to consume for every partition: the model contains every event below them. */
  offsets: TopicOffsets;
  /** Progressive-validation metrics over the sliding window, plus counts since the last version. */
  metrics: Record<string, number>;
  /** Event-time span of the events trained since the previous version; null if none were valid. */
  eventTimeRange: EventTimeRange | null;
  /** Events trained since the previous version. */
  trainedEvents: number;
  /** Events dead-lettered since the previous version. */
  deadLettered: number;
  /** Ids of the events trained since the previous version, in training order (test mode only). */
  trainedEventIds?: string[];
  /**
   * The most recent held-back events (none trained by this version or its parents), for the
   * publish gate's paired comparison, with their positions; empty without `holdBack`. The
   * version stores them, so the next window starts with this slice.
   */
  heldBack: HeldBackEntry[];
  /** Events held back since the previous version (in this version's offsets, not trained). */
  heldBackEvents: number;
  /** Ids of the events held back since the previous version (test mode only). */
  heldBackEventIds?: string[];
}

/**
 * What `publishVersion` may return instead of resolving once the version is durable: it has
 * copied what the version needs (the weights at this boundary) and goes on writing, gating and
 * publishing it in the background while the loop trains on. `durable` resolves once the
 * version is in the registry (the caller commits the group offsets then) and rejects when its
 * publish failed (the window ends as a failed publish always did).
 */
export interface BackgroundPublish {
  durable: Promise<void>;
}

/** A version boundary the loop passed: its offsets, and its publish (maybe still running). */
export interface StartedPublish {
  /** The version's offsets (what the group commits once it is durable). */
  offsets: TopicOffsets;
  /** Resolves once the version is durable; rejects when its publish failed. */
  durable: Promise<void>;
}

/** A consumed Kafka message, with its offset already parsed. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** Dependencies and settings of {@link createTrainingLoop}. */
export interface TrainingLoopOptions {
  trainer: StreamTrainer;
  spec: FeatureSpec;
  metrics: ProgressiveMetrics;
  deadLetters: DeadLetterSink;
  /** Publishes a version: resolves once it is durable, or early with a {@link BackgroundPublish}. */
  publishVersion: (request: PublishRequest) => Promise<void | BackgroundPublish>;
  /** Positions the consumer starts from (checkpoint offsets, completed for every partition). */
  startOffsets: TopicOffsets;
  /** Events per micro-batch. */
  batchSize: number;
  /** A version is due after this many consumed events (trained or dead-lettered). */
  publishEveryEvents: number;
  /** Record trained event ids (for the exactly-once test). */
  recordTrainedIds: boolean;
  /** Largest accepted message, bytes. */
  maxEventBytes?: number;
  /** Event-time bounds and optional dedupe. @default EventValidation's defaults, dedupe off */
  validation?: EventValidation;
  /**
   * The numerical guard (src/model/step-guard.ts): a batch with a non-finite loss or gradient,
   * or a gradient norm above `spikeFactor` × its running scale, is skipped and its events are
   * dead-lettered. `false` turns it off. @default DEFAULT_STEP_GUARD (10×, 8 warm-up batches)
   */
  guard?: Partial<StepGuardConfig> | false;
  /**
   * Sets a deterministic fraction of valid events aside, untrained, for the publish gate
   * (src/stream/held-back-slice.ts). Unset: every valid event is trained.
   */
  holdBack?: HeldBackConfig;
  /** The slice the starting version stored (its most recent held-back events). @default [] */
  initialHeldBack?: readonly HeldBackEntry[];
  /**
   * The learning-rate factor of the next step (`recurring.optimizer`, src/train/recurring-lr.ts),
   * asked before every step. Unset: the configured rates.
   */
  lrScale?: () => number;
  /**
   * Decode, validate and encode the messages given to `decodeAhead` on a worker thread
   * (src/stream/decode-pool.ts) while the training thread trains; `close()` ends the thread.
   * Off: `decodeAhead` decodes on the training thread, message by message. The results are the
   * same either way. @default false
   */
  decodeThread?: boolean;
  /** The consumer's clock for event-time bounds, epoch ms (tests fix it). @default Date.now */
  now?: () => number;
}

/** Running totals of a loop. */
export interface TrainingLoopStats {
  consumed: number;
  trained: number;
  deadLettered: number;
  redelivered: number;
  published: number;
  /** Consumed since the last publish (trained, buffered or dead-lettered). */
  sinceVersion: number;
  lastLoss: number | null;
  /** Trained events with a dense value outside its feature's `clip` (trained clipped). */
  clippedEvents: number;
  /** Batches the numerical guard skipped (their events are dead-lettered, not trained). */
  skippedBatches: number;
  /** Valid events set aside for the publish gate (scored, not trained). */
  heldBack: number;
}

/**
 * The messages of one Kafka batch, decoded ahead on the decode thread (when the loop has one)
 * while the training thread consumes them one by one: chunk k+1 decodes while chunk k trains.
 */
export interface DecodingMessages {
  readonly length: number;
  /**
   * Handles message `index` exactly as `handle` would (the same order of offset tracking,
   * redelivery check, dedupe, hold-back, dead letters and micro-batches). Call it for 0, 1, 2, …
   * in order; stopping anywhere is fine (what was decoded beyond is dropped).
   */
  handle(index: number): Promise<void>;
}

export interface TrainingLoop {
  /** Handles one message; trains a micro-batch when it fills. Redeliveries are ignored. */
  handle(message: IncomingMessage): Promise<void>;
  /**
   * Starts decoding `messages` (in partition order) and returns them for handling one by one:
   * on the decode thread with `decodeThread`, else each in `handle` as it comes.
   */
  decodeAhead(messages: readonly IncomingMessage[]): DecodingMessages;
  /** True when enough events arrived since the last version. */
  publishDue(): boolean;
  /**
   * Trains the partial micro-batch, flushes dead letters, then awaits `publishVersion` with the
   * current offsets; returns false (publishing nothing) when nothing was consumed since the last
   * version. The caller commits the group offsets after it resolves.
   */
  publish(): Promise<boolean>;
  /**
   * As `publish`, but resolves as soon as `publishVersion` has taken what the version needs (the
   * loop may train on) with the boundary's offsets and the version's durable promise; null when
   * nothing was consumed since the last version.
   */
  startPublish(): Promise<StartedPublish | null>;
  /** Current positions (next offset per partition), including buffered, untrained events. */
  positions(): TopicOffsets;
  /** Offsets of the last published version (or the start). */
  publishedOffsets(): TopicOffsets;
  stats(): TrainingLoopStats;
  /** Ends the decode thread, if any (idempotent): call it once the loop is done with. */
  close(): Promise<void>;
}

/**
 * Messages per chunk sent to the decode thread: a fetch's first chunk is small, so training
 * starts on a fetch after a short wait for its decoding rather than a whole chunk's.
 */
const FIRST_CHUNK = 32;
const DECODE_CHUNK = 256;

/** The chunk of a fetch that holds message `index`, and the message's place in it. */
function chunkOf(index: number): [chunk: number, at: number] {
  if (index < FIRST_CHUNK) return [0, index];
  const rest = index - FIRST_CHUNK;
  return [1 + Math.floor(rest / DECODE_CHUNK), rest % DECODE_CHUNK];
}

type Pending = ValidEvent & {
  /** Kept to dead-letter the event should its batch be skipped. */
  message: IncomingMessage;
};

/** Creates the loop. Its offsets are exact only at publish time, when the buffer is empty. */
export function createTrainingLoop(options: TrainingLoopOptions): TrainingLoop {
  const decoderOptions = {
    ...(options.maxEventBytes === undefined ? {} : { maxBytes: options.maxEventBytes }),
    ...(options.validation === undefined
      ? {}
      : {
          validation: {
            maxFutureSkewSeconds: options.validation.maxFutureSkewSeconds,
            minEventTime: options.validation.minEventTime,
          },
        }),
  };
  const now = options.now ?? Date.now;
  const decode = createEventDecoder(options.spec, { ...decoderOptions, now });
  const dedupe = createEventIdDedupe(options.validation?.dedupe);
  const tracker = createOffsetTracker(options.startOffsets);
  const batcher = createMicroBatcher<Pending>(options.batchSize);
  let published = tracker.snapshot();
  const stats: TrainingLoopStats = {
    consumed: 0,
    trained: 0,
    deadLettered: 0,
    redelivered: 0,
    published: 0,
    sinceVersion: 0,
    lastLoss: null,
    clippedEvents: 0,
    skippedBatches: 0,
    heldBack: 0,
  };
  const holdBack = options.holdBack;
  const slice =
    holdBack === undefined
      ? undefined
      : new HeldBackSlice(holdBack.capacity, options.initialHeldBack ?? []);
  const minHeldBack = Math.min(holdBack?.minEvents ?? 0, holdBack?.capacity ?? 0);
  /** A version can be judged (and so published) once the slice holds `minEvents`. */
  const judgeable = (): boolean => slice === undefined || slice.size >= minHeldBack;
  let heldBackBase = 0;
  let heldBackIds: string[] = [];
  const guard = options.guard === false ? undefined : createStepGuard(options.guard ?? {});
  const stepOptions = { predictions: true as const, ...(guard === undefined ? {} : { guard }) };
  const isOutOfRange = createClipCheck(options.spec);
  let clippedBase = 0;
  let skippedBase = 0;
  let trainedSince = 0;
  let deadLetteredBase = options.deadLetters.count;
  let timeRange: EventTimeRange | null = null;
  let trainedIds: string[] = [];

  async function train(items: Pending[]): Promise<void> {
    if (items.length === 0) return;
    const batch = validEventsToBatch(items, options.spec);
    // Progressive validation: the step's forward pass scores the batch before its update, so
    // the model has not seen these labels.
    const lrScale = options.lrScale;
    const outcome = await options.trainer.step(
      batch,
      lrScale === undefined ? stepOptions : { ...stepOptions, lrScale: lrScale() },
    );
    if (outcome.skipped !== undefined) {
      // Not trained, so not scored either: the events go to the DLQ with the guard's reason.
      const reason = skipReasonText(outcome.skipped);
      for (const p of items) options.deadLetters.add({ ...p.message, reason });
      stats.deadLettered += items.length;
      stats.skippedBatches++;
      return;
    }
    if (outcome.predictions === undefined)
      throw new Error('the trainer returned no predictions although the loop asked for them');
    options.metrics.add(outcome.predictions, batch.labels);
    stats.lastLoss = outcome.loss;
    stats.trained += items.length;
    trainedSince += items.length;
    for (const p of items) {
      const time = timeOf(p);
      if (timeRange === null) timeRange = { min: time, max: time };
      else {
        if (time < timeRange.min) timeRange.min = time;
        if (time > timeRange.max) timeRange.max = time;
      }
      if (options.recordTrainedIds) trainedIds.push(idOf(p));
      if ('ok' in p ? isOutOfRange(p.ok) : p.chunk.clipped[p.row] === 1) stats.clippedEvents++;
    }
  }

  /** A held-back event as the slice stores it (an object): decoded here again when needed. */
  function heldBackEvent(valid: ValidEvent, message: IncomingMessage): ClickEvent {
    if ('ok' in valid) return valid.ok;
    const decoded = decode(message.value);
    if ('error' in decoded) {
      throw new InfraError(
        `the decode thread accepted the event at ${message.topic}/${message.partition}@` +
          `${message.offset}, the training thread's decoder refused it: ${decoded.error}`,
      );
    }
    return decoded.ok;
  }

  /** The per-message logic, whichever thread decoded the message (`decoded` is called once). */
  async function consume(
    message: IncomingMessage,
    decoded: () => ValidEvent | { error: string },
  ): Promise<void> {
    if (!tracker.advance(message.topic, message.partition, message.offset)) {
      stats.redelivered++;
      return;
    }
    stats.consumed++;
    stats.sinceVersion++;
    const valid = decoded();
    const error = 'error' in valid ? valid.error : dedupe.checkId(idOf(valid), message);
    if (error !== null) {
      options.deadLetters.add({ ...message, reason: error });
      stats.deadLettered++;
      return;
    }
    const ok = valid as ValidEvent;
    if (
      slice !== undefined &&
      // Warm-up: until the slice can judge a version, every valid event is held back.
      (slice.size < minHeldBack ||
        isHeldBack(message.topic, message.partition, message.offset, holdBack?.fraction ?? 0))
    ) {
      slice.push({
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        event: heldBackEvent(ok, message),
      });
      stats.heldBack++;
      if (options.recordTrainedIds) heldBackIds.push(idOf(ok));
      return;
    }
    const full = batcher.push({ ...ok, message });
    if (full) await train(full);
  }

  function decodeAhead(messages: readonly IncomingMessage[]): DecodingMessages {
    const at = (index: number): IncomingMessage => {
      const message = messages[index];
      if (message === undefined) throw new RangeError(`no message ${index} of ${messages.length}`);
      return message;
    };
    if (pool === undefined) {
      return { length: messages.length, handle: (index) => handleOne(at(index)) };
    }
    // Every chunk is asked for at once: the thread decodes them in order, ahead of training.
    // Their event times are judged against the clock of now, when the batch arrived (here, a
    // moment earlier than when each message is handled).
    const clock = now();
    const chunks: Promise<DecodedChunk>[] = [];
    for (let i = 0; i < messages.length; i += i === 0 ? FIRST_CHUNK : DECODE_CHUNK) {
      const end = i + (i === 0 ? FIRST_CHUNK : DECODE_CHUNK);
      chunks.push(
        pool.decode(
          messages.slice(i, end).map((m) => m.value),
          clock,
        ),
      );
    }
    return {
      length: messages.length,
      async handle(index) {
        const message = at(index);
        const [k, inChunk] = chunkOf(index);
        const chunk = await (chunks[k] as Promise<DecodedChunk>);
        await consume(message, () => fromChunk(chunk, inChunk));
      },
    };
  }

  function handleOne(message: IncomingMessage): Promise<void> {
    return consume(message, () => decode(message.value));
  }

  async function startPublish(): Promise<StartedPublish | null> {
    if (stats.sinceVersion === 0 || !judgeable()) return null;
    // Flush first, so the published weights contain exactly the events below `offsets`.
    await train(batcher.drain());
    await options.deadLetters.flush();
    const offsets = tracker.snapshot();
    const request: PublishRequest = {
      fromOffsets: published,
      offsets,
      metrics: {
        ...options.metrics.snapshot(),
        trainedEvents: trainedSince,
        deadLettered: options.deadLetters.count - deadLetteredBase,
        clippedEvents: stats.clippedEvents - clippedBase,
        skippedBatches: stats.skippedBatches - skippedBase,
        ...(slice === undefined ? {} : { heldBackEvents: stats.heldBack - heldBackBase }),
      },
      eventTimeRange: timeRange,
      trainedEvents: trainedSince,
      deadLettered: options.deadLetters.count - deadLetteredBase,
      ...(options.recordTrainedIds ? { trainedEventIds: trainedIds } : {}),
      heldBack: slice?.entries() ?? [],
      heldBackEvents: stats.heldBack - heldBackBase,
      ...(options.recordTrainedIds && slice !== undefined ? { heldBackEventIds: heldBackIds } : {}),
    };
    const background = await options.publishVersion(request);
    published = offsets;
    stats.published++;
    stats.sinceVersion = 0;
    trainedSince = 0;
    deadLetteredBase = options.deadLetters.count;
    clippedBase = stats.clippedEvents;
    skippedBase = stats.skippedBatches;
    heldBackBase = stats.heldBack;
    timeRange = null;
    trainedIds = [];
    heldBackIds = [];
    return { offsets, durable: background?.durable ?? Promise.resolve() };
  }

  // Last, so that no setting refused above leaves a thread running.
  const pool: DecodePool | undefined = options.decodeThread
    ? createDecodePool({ spec: options.spec, decoder: decoderOptions })
    : undefined;
  return {
    handle: handleOne,
    decodeAhead,
    publishDue: () => stats.sinceVersion >= options.publishEveryEvents && judgeable(),
    async publish() {
      const started = await startPublish();
      if (started === null) return false;
      await started.durable;
      return true;
    },
    startPublish,
    positions: () => tracker.snapshot(),
    publishedOffsets: () => published,
    stats: () => ({ ...stats }),
    close: () => pool?.close() ?? Promise.resolve(),
  };
}
