import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import { parseInfraConfig } from '../../../src/config/env';
import { createKafka } from '../../../src/stream/kafka-client';

/** Consumes from `topic` with `groupId` until `count` messages arrived; returns their values. */
async function consume(kafka: Kafka, topic: string, groupId: string, count: number) {
  const consumer = kafka.consumer({ groupId });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${values.length}/${count}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(String(message.value));
            if (values.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.stop();
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('Kafka broker (real, via kafkajs)', () => {
  const config = parseInfraConfig();
  const kafka = createKafka(config.kafka, { clientId: 'agp-test' });
  const topic = `agp-test-${randomUUID()}`;
  const groupId = `${topic}-group`;
  let admin: Admin;

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  });

  after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('round-trips messages and commits the consumed offsets', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => `m${i}`);
    await producer.send({ topic, messages: sent.map((value, i) => ({ key: `k${i}`, value })) });

    const received = await consume(kafka, topic, groupId, sent.length);
    assert.deepEqual([...received].sort(), [...sent].sort());

    const high = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.equal(committed?.partitions.length, 3);
    for (const p of committed?.partitions ?? []) {
      const hw = high.find((h) => h.partition === p.partition);
      assert.equal(p.offset, hw?.high, `partition ${p.partition} committed up to its end`);
    }

    // The group resumes from its commits: a new member sees only what was produced since.
    const later = ['n0', 'n1', 'n2', 'n3', 'n4'];
    await producer.send({ topic, messages: later.map((value) => ({ value })) });
    await producer.disconnect();
    const resumed = await consume(kafka, topic, groupId, later.length);
    assert.deepEqual([...resumed].sort(), later);
  });
});
