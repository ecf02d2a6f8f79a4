import {
  Partitioners,
  type Kafka,
  type Message,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ColumnarBatch } from '../data/batch';
import { retryThroughOutage } from '../outage-retry';
import { encodeEvent } from './event-codec';
import { isKafkaOutage } from './kafka-outage';

/**
 * Replay: stream a dataset into a Kafka topic as click events, in the dataset's row order (the
 * event-time order of time-ordered data), keyed by event id so the default partitioner spreads
 * events over the partitions.
 *
 * Raw values from an encoded ColumnarBatch: dense values are turned back through the inverse of
 * their transform (`log1p` → `expm1`; clipping is idempotent, so re-encoding gives the same input
 * up to float32 rounding). Categorical values are already hashed bucket ids; they are emitted as
 * integers and hashed again by the consumer. That is deterministic, but the second hash maps
 * bucket b to a different row (and merges some buckets), so a model trained offline on the same
 * rows does not see the same embedding rows online. Sources that can give raw rows should be
 * replayed through `rowsToEvents` with their raw values instead.
 */

/** A raw row, as an event carries it. */
export interface RawRow {
  label: 0 | 1;
  dense: Record<string, number | null>;
  sparse: Record<string, string | number | null>;
  /** The row's own event time (epoch ms), when the data has one (MovieLens). */
  eventTime?: number;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** A connected producer (the caller owns it). */
  producer: Producer;
  topic: string;
  /** Events per second; undefined sends as fast as the broker acknowledges. */
  rate?: number;
  /** Stop after this many events. */
  limit?: number;
  /** Messages per produce request. @default 1000 */
  sendBatchSize?: number;
  /** Event ids are `<idPrefix>-<row>`. @default `r<start time in ms>` */
  idPrefix?: string;
  /**
   * A synthetic event clock: event i gets `start + i * stepMs`. Without it, events get the
   * row's own event time if it has one, else the wall clock at send time (what freshness
   * figures need).
   */
  eventClock?: { start: number; stepMs: number };
  signal?: AbortSignal;
  /** Called after every produce request with the running count. */
  onProgress?: (sent: number) => void;
  /**
   * Called after every produce request with what the broker acknowledged (per partition, the
   * offset of the request's first message there) and when the request was sent (epoch ms):
   * what a click → served measurement needs to know when each offset was produced.
   */
  onSent?: (records: readonly RecordMetadata[], sentAt: number) => void;
  /**
   * How long a produce request is retried while the brokers are unreachable (a restart) before
   * the replay fails, ms. @default 300_000 (DEFAULT_OUTAGE_LIMIT_MS)
   */
  outageLimitMs?: number;
  /** Where the one "waiting for Kafka" line and the "back" line of an outage go. @default stderr */
  log?: (line: string) => void;
}

/** What a replay did. */
export interface ReplayResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  firstEventTime: number | null;
  lastEventTime: number | null;
  idPrefix: string;
}

/**
 * A producer for replay: idempotent, so a retried send (e.g. while a new topic's leader moves)
 * does not write an event twice, and one request in flight, so retries cannot reorder events
 * within a partition. Keys are hashed by the Java client's partitioner.
 */
export function createReplayProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
}

/** Raw rows of an encoded batch (see the module comment for how values are reconstructed). */
export function batchToRows(batch: ColumnarBatch, spec: FeatureSpec): RawRow[] {
  const rows: RawRow[] = [];
  for (let r = 0; r < batch.size; r++) {
    const dense: Record<string, number | null> = {};
    spec.dense.forEach((f, i) => {
      const v = batch.dense[r * batch.numDense + i] as number;
      dense[f.name] = f.transform === 'log1p' ? Math.expm1(v) : v;
    });
    const sparse: Record<string, number> = {};
    spec.sparse.forEach((f, i) => {
      sparse[f.name] = batch.sparse[r * batch.numSparse + i] as number;
    });
    rows.push({ label: batch.labels[r] === 1 ? 1 : 0, dense, sparse });
  }
  return rows;
}

/** Adapts encoded batches into raw rows. */
export async function* rowsOfBatches(
  batches: AsyncIterable<ColumnarBatch>,
  spec: FeatureSpec,
): AsyncGenerator<RawRow> {
  for await (const b of batches) yield* batchToRows(b, spec);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Streams `rows` into `options.topic`. Rate limiting paces whole produce requests against the
 * ideal schedule (event n is due at start + n / rate), so the long-run rate is exact.
 */
export async function replay(
  rows: AsyncIterable<RawRow> | Iterable<RawRow>,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const started = Date.now();
  const idPrefix = options.idPrefix ?? `r${started}`;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const rate = options.rate;
  if (rate !== undefined && !(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
  // At a low rate, smaller requests keep the stream smooth (about 10 requests a second).
  const chunk = Math.max(
    1,
    Math.min(options.sendBatchSize ?? 1000, rate === undefined ? Infinity : Math.ceil(rate / 10)),
  );
  let sent = 0;
  let first: number | null = null;
  let last: number | null = null;
  let pending: Message[] = [];

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    if (rate !== undefined) {
      const due = started + ((sent + pending.length) / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const messages = pending;
    const sentAt = Date.now();
    // Repeating a request is safe with the replay producer: idempotent, one request in flight,
    // so the broker drops a batch it already has and nothing is reordered.
    const records = await retryThroughOutage(
      () => options.producer.send({ topic: options.topic, messages }),
      {
        what: `Kafka (producing to '${options.topic}')`,
        isOutage: isKafkaOutage,
        ...(options.outageLimitMs === undefined ? {} : { limitMs: options.outageLimitMs }),
        ...(options.log === undefined ? {} : { log: options.log }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
    options.onSent?.(records, sentAt);
    sent += pending.length;
    pending = [];
    options.onProgress?.(sent);
  };

  let index = 0;
  for await (const row of rows) {
    if (index >= limit || options.signal?.aborted) break;
    const eventTime: number = options.eventClock
      ? options.eventClock.start + index * options.eventClock.stepMs
      : (row.eventTime ?? Math.max(Date.now(), last ?? 0));
    const event: ClickEvent = {
      v: 1,
      eventId: `${idPrefix}-${index}`,
      eventTime: Math.round(eventTime),
      label: row.label,
      dense: row.dense,
      sparse: row.sparse,
    };
    first ??= eventTime;
    last = eventTime;
    // The record's timestamp is the event time (CreateTime), so offsets-for-times finds a
    // time window's events (scheduled retraining on `-7d..0d`). An integer: Kafka's is int64 ms.
    pending.push({
      key: event.eventId,
      value: encodeEvent(event),
      timestamp: String(event.eventTime),
    });
    index++;
    if (pending.length >= chunk) await flush();
  }
  await flush();
  const seconds = (Date.now() - started) / 1000;
  return {
    events: sent,
    seconds,
    eventsPerSecond: sent / Math.max(seconds, 1e-3),
    firstEventTime: first,
    lastEventTime: last,
    idPrefix,
  };
}
