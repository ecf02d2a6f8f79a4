import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KafkaWindow } from '../../../schemas/training-window';
import { openSource } from '../../../src/data/open-source';
import type { KafkaRangeSource } from '../../../src/data/windows/kafka-range-source';
import { resolveKafkaWindow } from '../../../src/data/windows/resolve-kafka-window';
import { readDeadLetterHeaders } from '../../../src/stream/dead-letter';
import {
  kafka as testKafka,
  deleteTopics,
  readAll,
  spec,
  uniqueTopic,
} from '../stream/kafka-helpers';
import { DAY, EVENTS, eventTime, fillWindowTopic, idsBetween } from '../stream/window-events';

/**
 * A Kafka window against the real broker: replay stamps each message with its event time,
 * offsets-for-times finds the window, and the bounded source yields exactly its events, with
 * malformed messages dead-lettered once.
 */
describe('kafka training window (real broker)', () => {
  const kafka = testKafka();
  const topic = uniqueTopic('window');
  const nominal = Date.parse('2025-06-04T03:00:00Z');
  const start = nominal - 3 * DAY;
  const badAt = nominal - 1.5 * DAY;

  before(async () => {
    await fillWindowTopic(kafka, topic, start, { count: 3, at: badAt });
  });
  after(async () => deleteTopics(kafka, topic, `${topic}.dlq`));

  it('replay sets each message timestamp to its event time', async () => {
    const messages = await readAll(kafka, topic, EVENTS + 3);
    const events = messages.filter((m) => !m.key?.toString().startsWith('bad-'));
    assert.equal(events.length, EVENTS);
    for (const m of events) {
      const event = JSON.parse(m.value?.toString() ?? '{}') as {
        eventId: string;
        eventTime: number;
      };
      const i = Number(event.eventId.slice(2));
      assert.equal(event.eventTime, eventTime(start, i));
      assert.equal(m.timestamp, String(event.eventTime), `timestamp of ${event.eventId}`);
    }
  });

  it('-2d..0d resolves to the window, trains exactly its events and never the test slice', async () => {
    const window = KafkaWindow.parse({ kind: 'kafka', topic, from: '-2d', to: '0d', test: '6h' });
    const resolved = await resolveKafkaWindow(kafka, window, nominal, spec);
    assert.equal(resolved.window.kind, 'kafka');
    assert.equal(resolved.window.nominalTime, '2025-06-04T03:00:00.000Z');
    assert.equal(resolved.window.from, '2025-06-02T03:00:00.000Z');
    assert.equal(resolved.window.testFrom, '2025-06-03T21:00:00.000Z');
    const train = openSource(resolved.train, spec) as KafkaRangeSource;
    const test = openSource(resolved.test, spec) as KafkaRangeSource;
    const rowsOf = async (s: KafkaRangeSource): Promise<number> => {
      let n = 0;
      for await (const b of s.batches({ batchSize: 64 })) n += b.size;
      return n;
    };
    const expectedTrain = idsBetween(start, nominal - 2 * DAY, nominal - 6 * 3_600_000);
    const expectedTest = idsBetween(start, nominal - 6 * 3_600_000, nominal);
    assert.equal(await rowsOf(train), expectedTrain.length);
    assert.deepEqual(new Set(train.eventIds()), new Set(expectedTrain));
    assert.equal(train.eventIds().length, expectedTrain.length, 'no event twice');
    assert.equal(await rowsOf(test), expectedTest.length);
    assert.deepEqual(new Set(test.eventIds()), new Set(expectedTest));
    assert.equal(train.counts.invalid, 3, 'the malformed messages are inside the training range');
    assert.ok(train.counts.outside > 0, 'older events in the offset range are left out by time');
    // A second pass (an epoch, an evaluation) reads the same rows in the same order.
    const firstOrder = train.eventIds();
    assert.equal(await rowsOf(train), expectedTrain.length);
    assert.deepEqual(train.eventIds(), firstOrder);
    // Dead-lettered once, with the recurring phase's reason and source position.
    const letters = await readAll(kafka, `${topic}.dlq`, 3);
    assert.equal(letters.length, 3);
    for (const l of letters) {
      const h = readDeadLetterHeaders(l.headers);
      assert.match(h.reason, /^bad JSON: /);
      assert.equal(h.topic, topic);
    }
  });

  it('with eventValidation.dedupe, a repeated eventId is dead-lettered and trained once', async () => {
    const dupTopic = uniqueTopic('window-dedupe');
    try {
      const t0 = nominal - DAY;
      await fillWindowTopic(kafka, dupTopic, t0);
      const p = kafka.producer();
      await p.connect();
      // The newest three again: in the test slice, and after it in offset order, like a retried send.
      const again = (await readAll(kafka, dupTopic, EVENTS))
        .sort((a, b) => Number(b.timestamp) - Number(a.timestamp))
        .slice(0, 3);
      await p.send({
        topic: dupTopic,
        messages: again.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp })),
      });
      await p.disconnect();
      const window = KafkaWindow.parse({
        kind: 'kafka',
        topic: dupTopic,
        from: '-1d',
        to: '2d',
        test: '1h',
        eventValidation: { dedupe: { lastIds: 10_000 } },
      });
      const resolved = await resolveKafkaWindow(kafka, window, nominal, spec);
      const test = openSource(resolved.test, spec) as KafkaRangeSource;
      for await (const _ of test.batches({ batchSize: 256 })) {
        // fills eventIds()
      }
      const ids = test.eventIds();
      assert.equal(new Set(ids).size, ids.length, 'every id once');
      assert.equal(
        ids.length,
        idsBetween(t0, nominal + 2 * DAY - 3_600_000, nominal + 2 * DAY).length,
      );
      assert.equal(test.counts.invalid, 3);
      const letters = await readAll(kafka, `${dupTopic}.dlq`, 3);
      assert.ok(
        letters.every((l) => /^duplicate eventId: /.test(readDeadLetterHeaders(l.headers).reason)),
      );
    } finally {
      await deleteTopics(kafka, dupTopic, `${dupTopic}.dlq`);
    }
  });

  it('a window with no events fails naming the window', async () => {
    const window = KafkaWindow.parse({ kind: 'kafka', topic, from: '-2d', to: '0d' });
    await assert.rejects(
      resolveKafkaWindow(kafka, window, nominal + 10 * DAY, spec),
      (e: Error) => {
        assert.equal(e.name, 'DataError');
        assert.match(
          e.message,
          /^empty window: kafka window -2d\.\.0d of topic '.*window.*' \(test 1h\) .*: no events/,
        );
        assert.match(e.message, /2025-06-12T03:00:00\.000Z, 2025-06-14T03:00:00\.000Z/);
        return true;
      },
    );
  });
});
