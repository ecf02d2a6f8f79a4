import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Partitioners, type Kafka } from 'kafkajs';
import { z } from 'zod';
import { parseOrThrow } from '../schemas/zod-errors';
import { createTopicsReady } from '../src/stream/create-topics';
import { toFailure } from './failure';

/** Input of {@link SmokeActivities.kafkaRoundTrip}. */
export const KafkaRoundTripInput = z.object({
  /** Messages to produce and consume back. @default 100 */
  messages: z.number().int().min(1).max(100_000).default(100),
  /** Topic to use; a fresh unique one by default. */
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/)
    .optional(),
  /** How long to wait for every message to come back, in ms. @default 60000 */
  consumeTimeoutMs: z.number().int().min(1000).default(60_000),
});
export type KafkaRoundTripInput = z.input<typeof KafkaRoundTripInput>;

/** What the round trip saw; `produced === consumed === committed` proves the broker works. */
export interface KafkaRoundTripResult {
  topic: string;
  produced: number;
  consumed: number;
  /** Sum of the consumer group's committed offsets over the topic's partitions. */
  committed: number;
  partitions: number;
}

/** Dependencies of the smoke activities. */
export interface SmokeDeps {
  kafka: Kafka;
}

/** Activities that prove the servers work end to end. */
export function createSmokeActivities({ kafka }: SmokeDeps) {
  return {
    /**
     * Produces `messages` keyed messages to a topic, consumes them back with a consumer group,
     * and reads the group's committed offsets; the topic is deleted afterwards.
     */
    async kafkaRoundTrip(raw: KafkaRoundTripInput): Promise<KafkaRoundTripResult> {
      try {
        return await roundTrip(
          kafka,
          parseOrThrow(KafkaRoundTripInput, raw, 'kafkaRoundTrip input'),
        );
      } catch (error) {
        throw toFailure(error);
      }
    },
  };
}

/** The smoke activities' type, for `proxyActivities`. */
export type SmokeActivities = ReturnType<typeof createSmokeActivities>;

async function roundTrip(
  kafka: Kafka,
  input: z.output<typeof KafkaRoundTripInput>,
): Promise<KafkaRoundTripResult> {
  const context = Context.current();
  const topic = input.topic ?? `agp-smoke-${randomUUID()}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${topic}-group` });
  await createTopicsReady(kafka, [{ topic, numPartitions: 3 }]);
  await admin.connect();
  try {
    await producer.connect();
    const messages = Array.from({ length: input.messages }, (_, i) => ({
      key: String(i),
      value: JSON.stringify({ i }),
    }));
    await producer.send({ topic, messages });
    context.heartbeat({ produced: input.messages });

    const seen = new Set<number>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `consumed ${seen.size} of ${input.messages} within ${input.consumeTimeoutMs} ms`,
            ),
          ),
        input.consumeTimeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.add((JSON.parse(String(message.value)) as { i: number }).i);
            if (seen.size % 100 === 0) context.heartbeat({ consumed: seen.size });
            if (seen.size === input.messages) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    // Stopping commits the offsets of everything eachMessage has returned from.
    await consumer.stop();
    const [offsets] = await admin.fetchOffsets({ groupId: `${topic}-group`, topics: [topic] });
    const committed = (offsets?.partitions ?? []).reduce(
      (sum, p) => sum + Math.max(0, Number(p.offset)),
      0,
    );
    await admin.deleteTopics({ topics: [topic] });
    return {
      topic,
      produced: input.messages,
      consumed: seen.size,
      committed,
      partitions: offsets?.partitions.length ?? 0,
    };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
}
