import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { ColumnarBatch } from '../../../src/data/batch';
import { readDeadLetterHeaders } from '../../../src/stream/dead-letter';
import { encodeEvent } from '../../../src/stream/event-codec';
import { runWindow } from '../../../src/stream/recurring-trainer';
import type { PublishRequest } from '../../../src/stream/training-loop';
import {
  countingMetrics,
  createTopics,
  deleteTopics,
  kafka,
  producer,
  readAll,
  rows,
  spec,
  uniqueTopic,
} from './kafka-helpers';

/**
 * The event-validation gaps of issue 12, produced raw into a real topic: each bad event must
 * reach the DLQ with its reason and stay out of the trained count and the trained ids.
 */

let k: Kafka;
let p: Producer;
const topics: string[] = [];

before(async () => {
  k = kafka();
  p = await producer(k);
});

after(async () => {
  await p.disconnect();
  if (topics.length) await deleteTopics(k, ...topics);
});

describe('event validation on the real broker', () => {
  it('dead-letters future, duplicate, bad-UTF-8, surrogate and __proto__ events with reasons', async () => {
    const topic = uniqueTopic('validation');
    topics.push(topic, `${topic}.dlq`);
    await createTopics(k, topic, `${topic}.dlq`);

    const now = Date.now();
    const good = rows(40).map((r, i) => ({
      key: `ok-${i}`,
      value: encodeEvent({ v: 1, eventId: `ok-${i}`, eventTime: now - 60_000 + i, ...r }),
    }));
    const text = (i: number): string => good[i]!.value.toString();
    const badUtf8 = Buffer.from(text(5).replace('"ok-5"', '"bad-XX"'));
    badUtf8[badUtf8.indexOf('XX')] = 0xff;
    // key → [raw value, the reason it must be dead-lettered with]
    const bad: Record<string, [Buffer | string, RegExp]> = {
      future: [
        text(1).replace(`"eventTime":${now - 60_000 + 1}`, `"eventTime":${Date.UTC(2100, 0, 1)}`),
        /^event time out of range: eventTime 4102444800000 \(2100-01-01T00:00:00\.000Z\) is later than the consumer's clock \+ maxFutureSkewSeconds 3600/,
      ],
      utf8: [badUtf8, /^bad UTF-8: /],
      surrogate: [
        text(7).replace('"ok-7"', '"sur-\\ud800"'),
        /^invalid event: eventId: invalid Unicode: unpaired surrogate/,
      ],
      proto: [
        text(9).replace('"dense":{', '"dense":{"__proto__":{"d1":1},'),
        /^invalid event: dense\.__proto__: unknown feature/,
      ],
      // Same key as the original: a producer's retry lands after it in the same partition.
      'ok-3': [good[3]!.value, /^duplicate eventId: "ok-3" was already consumed at /],
    };
    const badMessages = Object.entries(bad).map(([key, [value]]) => ({ key, value }));
    await p.send({ topic, messages: [...good.slice(0, 20), ...badMessages, ...good.slice(20)] });

    const published: PublishRequest[] = [];
    let trainedRows = 0;
    const total = good.length + badMessages.length;
    const result = await runWindow(
      {
        kafka: k,
        trainer: {
          step: (b: ColumnarBatch) => {
            trainedRows += b.size;
            return { loss: 0.6, predictions: new Float32Array(b.size).fill(0.3) };
          },
        },
        spec,
        metrics: countingMetrics(),
        publishVersion: async (r) => {
          published.push(r);
        },
      },
      {
        topic,
        groupId: `g-${randomUUID()}`,
        batchSize: 16,
        publishEveryEvents: total,
        recordTrainedIds: true,
        eventValidation: { dedupe: { lastIds: 1000 } },
        signal: AbortSignal.timeout(30_000),
      },
    );
    assert.equal(result.stoppedBy, 'versions');
    assert.equal(result.stats.consumed, total);
    assert.equal(result.stats.trained, good.length);
    assert.equal(trainedRows, good.length);
    assert.equal(result.stats.deadLettered, badMessages.length);
    assert.equal(published[0]?.deadLettered, badMessages.length);
    const trainedIds = published[0]?.trainedEventIds ?? [];
    assert.deepEqual(
      [...trainedIds].sort(),
      good.map((g) => g.key).sort(),
      'each good event once, no bad one',
    );
    // Freshness stays sane: no trained event time lies in the future.
    assert.ok((published[0]?.eventTimeRange?.max ?? Infinity) <= Date.now());

    const letters = await readAll(k, `${topic}.dlq`, badMessages.length);
    assert.equal(letters.length, badMessages.length);
    for (const letter of letters) {
      const key = String(letter.key);
      const expected = bad[key];
      assert.ok(expected, `unexpected dead letter ${key}`);
      const headers = readDeadLetterHeaders(letter.headers);
      assert.match(headers.reason, expected[1], key);
      assert.equal(headers.topic, topic);
      // The original bytes are kept, invalid UTF-8 included.
      assert.ok(letter.value?.equals(Buffer.from(expected[0])), `${key}: original bytes`);
    }
  });
});
