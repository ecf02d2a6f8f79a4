import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { InfraError } from '../../errors';
import { parseOffset } from '../../stream/offsets';

/** Offsets [from, to) of one partition. */
export interface OffsetRange {
  partition: number;
  from: number;
  to: number;
}

/**
 * Reads every message of the given offset ranges once, in offset order within each partition,
 * and resolves when each range is exhausted. Reads with a throw-away consumer group that never
 * commits (kafkajs has no `assign`), so no other group's offsets move; partitions outside the
 * ranges are paused.
 *
 * @throws InfraError (retriable) when no message arrives for `idleTimeoutMs`.
 */
export async function readOffsetRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly OffsetRange[],
  onMessage: (partition: number, message: KafkaMessage) => void,
  idleTimeoutMs = 60_000,
): Promise<void> {
  const wanted = ranges.filter((r) => r.to > r.from);
  if (wanted.length === 0) return;
  const byPartition = new Map(wanted.map((r) => [r.partition, r]));
  const remaining = new Set(byPartition.keys());
  const consumer = kafka.consumer({
    groupId: `agp-window-${randomUUID()}`,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  try {
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const idle = (): void => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            reject(
              new InfraError(
                `reading offsets of ${topic} stalled for ${idleTimeoutMs} ms with partitions ` +
                  `${[...remaining].join(', ')} unfinished`,
              ),
            ),
          idleTimeoutMs,
        );
      };
      idle();
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const assigned = event.payload.memberAssignment[topic] ?? [];
        const idlePartitions = assigned.filter((p) => !remaining.has(p));
        if (idlePartitions.length > 0) consumer.pause([{ topic, partitions: idlePartitions }]);
        for (const p of remaining) {
          const range = byPartition.get(p) as OffsetRange;
          consumer.seek({ topic, partition: p, offset: String(range.from) });
        }
      });
      consumer
        .subscribe({ topic, fromBeginning: true })
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              idle();
              const range = byPartition.get(partition);
              if (range === undefined || !remaining.has(partition)) return;
              const offset = parseOffset(message.offset);
              if (offset < range.from || offset >= range.to) return;
              onMessage(partition, message);
              if (offset === range.to - 1) {
                remaining.delete(partition);
                consumer.pause([{ topic, partitions: [partition] }]);
                if (remaining.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              }
            },
          }),
        )
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
}
