import type { IHeaders, Message, Producer } from 'kafkajs';

/**
 * The dead-letter queue. An event that fails validation is written, byte for byte, to the DLQ
 * topic with the reason and its source position in headers (the convention of Kafka Connect's
 * DLQ), so an operator can inspect, fix and re-publish it. Dead-lettering never stops training.
 */

/** Header names on dead-lettered messages. */
export const DLQ_HEADERS = {
  reason: 'agp-dlq-reason',
  topic: 'agp-dlq-source-topic',
  partition: 'agp-dlq-source-partition',
  offset: 'agp-dlq-source-offset',
  time: 'agp-dlq-time',
} as const;

/** The DLQ topic for a source topic. @default `<topic>.dlq` */
export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** An invalid message and where it came from. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

/** Buffers dead letters and sends them in one produce call per flush. */
export interface DeadLetterSink {
  add(letter: DeadLetter): void;
  /** Sends everything buffered; resolves once the broker acknowledged it. */
  flush(): Promise<void>;
  /** Dead letters sent so far (acknowledged). */
  readonly count: number;
  /** Dead letters per reason kind (the text before the first ':'), for reports. */
  readonly byReason: Readonly<Record<string, number>>;
}

/** Longest reason kept in a header; zod reports of huge events can be long. */
const MAX_REASON_CHARS = 2000;

/** Kind of a reason for counting: `bad JSON: ...` → `bad JSON`. */
export function reasonKind(reason: string): string {
  const colon = reason.indexOf(':');
  return colon > 0 ? reason.slice(0, colon) : reason;
}

/**
 * Creates a sink writing to `dlqTopic` through a connected `producer` (the caller owns it).
 * `resolveTopic` lets one sink serve several source topics.
 */
export function createDeadLetterSink(
  producer: Producer,
  resolveTopic: (sourceTopic: string) => string = defaultDeadLetterTopic,
): DeadLetterSink {
  let pending: DeadLetter[] = [];
  let count = 0;
  const byReason: Record<string, number> = {};
  return {
    add(letter) {
      pending.push(letter);
    },
    async flush() {
      if (pending.length === 0) return;
      const letters = pending;
      pending = [];
      const byTopic = new Map<string, Message[]>();
      const now = String(Date.now());
      for (const l of letters) {
        const topic = resolveTopic(l.topic);
        const headers: IHeaders = {
          [DLQ_HEADERS.reason]: l.reason.slice(0, MAX_REASON_CHARS),
          [DLQ_HEADERS.topic]: l.topic,
          [DLQ_HEADERS.partition]: String(l.partition),
          [DLQ_HEADERS.offset]: String(l.offset),
          [DLQ_HEADERS.time]: now,
        };
        const list = byTopic.get(topic) ?? [];
        list.push({ key: l.key, value: l.value, headers });
        byTopic.set(topic, list);
      }
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      count += letters.length;
      for (const l of letters) {
        const kind = reasonKind(l.reason);
        byReason[kind] = (byReason[kind] ?? 0) + 1;
      }
    },
    get count() {
      return count;
    },
    get byReason() {
      return byReason;
    },
  };
}

/** Reads the DLQ headers of a consumed dead letter back (for tools and tests). */
export function readDeadLetterHeaders(headers: IHeaders | undefined): {
  reason: string;
  topic: string;
  partition: number;
  offset: number;
} {
  const text = (name: string): string => {
    const v = headers?.[name];
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? '' : first.toString();
  };
  return {
    reason: text(DLQ_HEADERS.reason),
    topic: text(DLQ_HEADERS.topic),
    partition: Number(text(DLQ_HEADERS.partition)),
    offset: Number(text(DLQ_HEADERS.offset)),
  };
}
