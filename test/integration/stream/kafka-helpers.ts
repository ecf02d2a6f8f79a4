import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { infraConfig } from '../../../src/config/env';
import { createKafka } from '../../../src/stream/kafka-client';
import { createReplayProducer, type RawRow } from '../../../src/stream/replay';
import type { ProgressiveMetrics } from '../../../src/stream/training-loop';
import { spec } from '../../unit/stream/fixtures';
import { createTopicsReady } from '../../../src/stream/create-topics';

export { spec };

/** The real broker: KAFKA_BROKERS when the test runner sets it, else the embedded one. */
export function kafka(): Kafka {
  return createKafka(infraConfig().kafka, { clientId: 'agp-stream-test' });
}

/** A topic name no other test uses. */
export function uniqueTopic(label: string): string {
  return `test.stream.${label}.${randomUUID().slice(0, 8)}`;
}

/** Creates topics with 3 partitions and waits for their leaders. */
export async function createTopics(k: Kafka, ...topics: string[]): Promise<void> {
  await createTopicsReady(
    k,
    topics.map((topic) => ({ topic, numPartitions: 3 })),
  );
}

/** Deletes test topics (best effort). */
export async function deleteTopics(k: Kafka, ...topics: string[]): Promise<void> {
  const admin = k.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

/** A connected producer. */
export async function producer(k: Kafka) {
  const p = createReplayProducer(k);
  await p.connect();
  return p;
}

/** `n` valid raw rows in the fixtures' spec. */
export function rows(n: number): RawRow[] {
  return Array.from({ length: n }, (_, i) => ({
    label: i % 4 === 0 ? 1 : 0,
    dense: { d1: i % 50, d2: (i % 3) - 1 },
    sparse: { c1: `u${i % 13}`, c2: i % 4 },
  }));
}

/** A consumed message with its partition. */
export type ReadMessage = KafkaMessage & { partition: number };

/** Reads `count` messages of `topic` from the beginning (fails after `timeoutMs`). */
export async function readAll(
  k: Kafka,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<ReadMessage[]> {
  const consumer = k.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  const out: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${out.length} of ${count} messages of ${topic}`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          out.push({ ...message, partition });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** A stand-in for src/metrics' window: counts and mean log loss, enough to see it is fed. */
export function countingMetrics(): ProgressiveMetrics & { scored: number } {
  let loss = 0;
  const m = {
    scored: 0,
    add(p: Float32Array, l: Float32Array) {
      for (let i = 0; i < p.length; i++) {
        const q = Math.min(Math.max(p[i] as number, 1e-7), 1 - 1e-7);
        loss -= l[i] === 1 ? Math.log(q) : Math.log(1 - q);
      }
      m.scored += p.length;
    },
    snapshot: () => ({ count: m.scored, logLoss: m.scored ? loss / m.scored : 0 }),
  };
  return m;
}
