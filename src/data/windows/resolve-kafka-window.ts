import type { Kafka } from 'kafkajs';
import type { FeatureSpec } from '../../../schemas/feature-spec';
import type { KafkaRangeSourceConfig } from '../../../schemas/kafka-range-source';
import {
  describeWindow,
  relativeMs,
  type KafkaWindow,
  type PartitionRange,
  type ResolvedWindow,
} from '../../../schemas/training-window';
import { ConfigError, DataError } from '../../errors';
import { parseOffset } from '../../stream/offsets';
import type { ResolvedTrainingData } from './resolved-data';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Resolves a Kafka window at a nominal time to per-partition offset ranges with Kafka's
 * offsets-for-times: the first offset whose timestamp is at or after each bound (the high
 * watermark when there is none). The producer sets each message's timestamp to its event time,
 * so the ranges hold the window's events; the sources still keep only events whose `eventTime`
 * is inside their times, so a late event never leaks into the wrong split.
 *
 * @throws ConfigError when the topic does not exist; DataError naming the window when it, its
 *   training part or its test slice holds no message.
 */
export async function resolveKafkaWindow(
  kafka: Kafka,
  window: KafkaWindow,
  nominalMs: number,
  features: FeatureSpec,
): Promise<ResolvedTrainingData> {
  const fromTime = nominalMs + relativeMs(window.from);
  const toTime = nominalMs + relativeMs(window.to);
  const testTime = toTime - relativeMs(window.test);
  const admin = kafka.admin();
  await admin.connect();
  let partitions: PartitionRange[];
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(window.topic)) {
      throw new ConfigError(`${describeWindow(window)}: topic '${window.topic}' does not exist`);
    }
    const at = async (t: number): Promise<Map<number, number>> =>
      new Map(
        (await admin.fetchTopicOffsetsByTimestamp(window.topic, t)).map((p) => [
          p.partition,
          parseOffset(p.offset),
        ]),
      );
    const [from, test, to] = [await at(fromTime), await at(testTime), await at(toTime)];
    partitions = [...from.keys()]
      .sort((a, b) => a - b)
      .map((partition) => ({
        partition,
        from: from.get(partition) as number,
        testFrom: test.get(partition) as number,
        to: to.get(partition) as number,
      }));
  } finally {
    await admin.disconnect();
  }
  const span = `at nominal time ${iso(nominalMs)} = events [${iso(fromTime)}, ${iso(toTime)})`;
  const count = (a: 'from' | 'testFrom', b: 'testFrom' | 'to'): number =>
    partitions.reduce((n, p) => n + Math.max(0, p[b] - p[a]), 0);
  if (count('from', 'to') === 0) {
    throw new DataError(`empty window: ${describeWindow(window)} ${span}: no events in the topic`);
  }
  if (count('from', 'testFrom') === 0) {
    throw new DataError(
      `empty window: ${describeWindow(window)} ${span}: no events before the test slice (${iso(testTime)})`,
    );
  }
  if (count('testFrom', 'to') === 0) {
    throw new DataError(
      `empty test slice: ${describeWindow(window)} ${span}: no events in [${iso(testTime)}, ${iso(toTime)})`,
    );
  }
  const source = (
    label: 'train' | 'test',
    a: 'from' | 'testFrom',
    b: 'testFrom' | 'to',
    times: [number, number],
  ): KafkaRangeSourceConfig => ({
    kind: 'kafka-range',
    topic: window.topic,
    partitions: partitions.map((p) => ({ partition: p.partition, from: p[a], to: p[b] })),
    fromTime: times[0],
    toTime: times[1],
    features,
    label,
    ...(window.eventValidation ? { eventValidation: window.eventValidation } : {}),
    ...(window.deadLetterTopic ? { deadLetterTopic: window.deadLetterTopic } : {}),
  });
  const resolved: ResolvedWindow = {
    kind: 'kafka',
    topic: window.topic,
    nominalTime: iso(nominalMs),
    from: iso(fromTime),
    testFrom: iso(testTime),
    to: iso(toTime),
    partitions,
  };
  return {
    train: source('train', 'from', 'testFrom', [fromTime, testTime]),
    test: source('test', 'testFrom', 'to', [testTime, toTime]),
    window: resolved,
    summary:
      `kafka ${window.topic} [${iso(fromTime)}, ${iso(toTime)}): ${count('from', 'testFrom')} ` +
      `train and ${count('testFrom', 'to')} test messages`,
  };
}
