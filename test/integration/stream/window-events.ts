import type { Kafka } from 'kafkajs';
import { replay } from '../../../src/stream/replay';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { producer as connectedProducer, rows } from './kafka-helpers';

/** Three simulated days of events, 720 of them, one every ~6 minutes, ending at `nominal`. */
export const DAY = 86_400_000;
/** A fractional step: event times are rounded to whole ms, as Kafka timestamps must be. */
export const STEP_MS = 360_000.4;
export const EVENTS = 720;

/** The event time of event `i` when the first is at `start`. */
export function eventTime(start: number, i: number): number {
  return Math.round(start + i * STEP_MS);
}

/** Ids of the events whose times lie in [from, to). */
export function idsBetween(start: number, from: number, to: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const t = eventTime(start, i);
    if (t >= from && t < to) ids.push(`w-${i}`);
  }
  return ids;
}

/**
 * Creates `topic` (3 partitions, no retention: the events are old) and its DLQ, sends `bad`
 * malformed messages timestamped `bad.at` (first: offsets-for-times then starts the window at
 * them, so the window's range also holds older events its time filter must leave out), then
 * replays 720 events from `start` on.
 */
export async function fillWindowTopic(
  kafka: Kafka,
  topic: string,
  start: number,
  bad: { count: number; at: number } = { count: 0, at: start },
): Promise<void> {
  const configEntries = [{ name: 'retention.ms', value: '-1' }];
  await createTopicsReady(kafka, [
    { topic, numPartitions: 3, configEntries },
    { topic: `${topic}.dlq`, numPartitions: 1 },
  ]);
  const producer = await connectedProducer(kafka);
  try {
    if (bad.count > 0) {
      await producer.send({
        topic,
        messages: Array.from({ length: bad.count }, (_, i) => ({
          key: `bad-${i}`,
          value: `{not json ${i}`,
          timestamp: String(bad.at),
        })),
      });
    }
    await replay(rows(EVENTS), {
      producer,
      topic,
      idPrefix: 'w',
      eventClock: { start, stepMs: STEP_MS },
    });
  } finally {
    await producer.disconnect();
  }
}
