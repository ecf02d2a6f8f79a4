import type { Kafka, KafkaMessage } from 'kafkajs';
import type { ClickEvent } from '../../../schemas/click-event';
import type { FeatureSpec } from '../../../schemas/feature-spec';
import type { KafkaRangeSourceConfig } from '../../../schemas/kafka-range-source';
import { DataError } from '../../errors';
import { createDeadLetterSink, defaultDeadLetterTopic } from '../../stream/dead-letter';
import { createEventIdDedupe } from '../../stream/dedupe';
import { createEventDecoder, eventsToBatch } from '../../stream/event-codec';
import { parseOffset } from '../../stream/offsets';
import type { ColumnarBatch } from '../batch';
import type { BatchOptions, BatchSource } from '../source';
import { readOffsetRanges } from './read-offset-ranges';

/** Counts of the messages a bounded Kafka source read. */
export interface KafkaRangeCounts {
  /** Messages in the offset ranges. */
  read: number;
  /** Valid events with event time inside [fromTime, toTime): the rows. */
  events: number;
  /** Invalid messages (dead-lettered unless `deadLetterTopic` is null). */
  invalid: number;
  /** Valid events whose event time is outside [fromTime, toTime). */
  outside: number;
}

/** A bounded Kafka source, plus what it read. */
export interface KafkaRangeSource extends BatchSource {
  /** Counts of the first pass (all zero before it). */
  readonly counts: KafkaRangeCounts;
  /** Event ids of the rows, in row order (after the first pass): what was trained, for audits. */
  eventIds(): string[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Opens fixed offset ranges of a click topic as a {@link BatchSource}. The first pass reads the
 * ranges once, decodes each message with the recurring phase's decoder (same validation, and
 * de-duplication by eventId when `eventValidation.dedupe` is set), sends invalid ones to the
 * dead-letter topic with their reason, and keeps the valid events inside
 * [fromTime, toTime) in memory; every pass then yields them partition by partition in offset
 * order, so an epoch, an evaluation or a resumed run sees the same rows in the same order.
 * Held in memory: a window of a few million events fits; larger windows want a file store.
 *
 * @throws DataError (not retriable) when the ranges hold no valid event inside the times.
 */
export function createKafkaRangeSource(
  cfg: KafkaRangeSourceConfig,
  spec: FeatureSpec,
  kafka: () => Kafka,
): KafkaRangeSource {
  const counts: KafkaRangeCounts = { read: 0, events: 0, invalid: 0, outside: 0 };
  let events: ClickEvent[] | null = null;
  const ranges = [...cfg.partitions].sort((a, b) => a.partition - b.partition);
  const where =
    `kafka-range ${cfg.topic}${cfg.label ? ` (${cfg.label})` : ''} ` +
    `${ranges.map((r) => `p${r.partition}[${r.from},${r.to})`).join(' ')} ` +
    `events ${iso(cfg.fromTime)}..${iso(cfg.toTime)}`;

  async function load(): Promise<ClickEvent[]> {
    const client = kafka();
    const decode = createEventDecoder(
      spec,
      cfg.eventValidation ? { validation: cfg.eventValidation } : {},
    );
    const perPartition = new Map<
      number,
      { offset: number; message: KafkaMessage; event: ClickEvent }[]
    >();
    const ordered: ClickEvent[] = [];
    const dlqTopic =
      cfg.deadLetterTopic === null
        ? null
        : (cfg.deadLetterTopic ?? defaultDeadLetterTopic(cfg.topic));
    const producer = dlqTopic === null ? null : client.producer();
    await producer?.connect();
    try {
      const sink = producer ? createDeadLetterSink(producer, () => dlqTopic as string) : null;
      await readOffsetRanges(client, cfg.topic, ranges, (partition, message) => {
        counts.read++;
        const decoded = decode(message.value);
        if ('error' in decoded) {
          counts.invalid++;
          sink?.add({
            topic: cfg.topic,
            partition,
            offset: parseOffset(message.offset),
            key: message.key,
            value: message.value,
            reason: decoded.error,
          });
          return;
        }
        const t = decoded.ok.eventTime;
        if (t < cfg.fromTime || t >= cfg.toTime) {
          counts.outside++;
          return;
        }
        const list = perPartition.get(partition) ?? [];
        list.push({ offset: parseOffset(message.offset), message, event: decoded.ok });
        perPartition.set(partition, list);
      });
      // De-duplication by eventId (when configured) runs in the rows' order, not in the order
      // partitions happened to arrive in, so every pass and every retry keeps the same copy.
      const dedupe = createEventIdDedupe(cfg.eventValidation?.dedupe);
      for (const partition of [...perPartition.keys()].sort((a, b) => a - b)) {
        const list = (perPartition.get(partition) ?? []).sort((a, b) => a.offset - b.offset);
        for (const { offset, message, event } of list) {
          const checked = dedupe.check({ ok: event }, { topic: cfg.topic, partition, offset });
          if ('error' in checked) {
            counts.invalid++;
            sink?.add({
              topic: cfg.topic,
              partition,
              offset,
              key: message.key,
              value: message.value,
              reason: checked.error,
            });
          } else {
            ordered.push(event);
          }
        }
      }
      await sink?.flush();
    } finally {
      await producer?.disconnect();
    }
    counts.events = ordered.length;
    if (ordered.length === 0) {
      throw new DataError(
        `${where}: no valid event in the window (${counts.read} messages read, ` +
          `${counts.invalid} invalid, ${counts.outside} outside the event times)`,
      );
    }
    return ordered;
  }

  return {
    spec,
    get skipped() {
      return counts.invalid;
    },
    get counts() {
      return counts;
    },
    eventIds() {
      return (events ?? []).map((e) => e.eventId);
    },
    describe() {
      return events === null ? where : `${where}: ${counts.events} events`;
    },
    async *batches(opts: BatchOptions): AsyncGenerator<ColumnarBatch> {
      if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
        throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
      }
      events ??= await load();
      for (let start = opts.startRow ?? 0; start < events.length; start += opts.batchSize) {
        yield eventsToBatch(events.slice(start, start + opts.batchSize), spec);
      }
    },
  };
}
