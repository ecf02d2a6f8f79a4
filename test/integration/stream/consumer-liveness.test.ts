// A backlog whose training takes several session timeouts is trained without the consumer
// being evicted from its group (issue 12 item 3): the trainer heartbeats within long batches.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { ColumnarBatch } from '../../../src/data/batch';
import { runWindow } from '../../../src/stream/recurring-trainer';
import { replay } from '../../../src/stream/replay';
import type { PublishRequest } from '../../../src/stream/training-loop';
import {
  countingMetrics,
  createTopics,
  deleteTopics,
  kafka,
  producer,
  rows,
  spec,
  uniqueTopic,
} from './kafka-helpers';

/** The broker's minimum (group.min.session.timeout.ms): the fastest eviction it allows. */
const SESSION_TIMEOUT_MS = 6000;
const EVENTS = 1200;
/** Per event, so one partition's fetched batch (~400 events) takes 8 s > the session timeout. */
const TRAIN_MS_PER_EVENT = 20;

/** Blocks the thread (as a synchronous tfjs step does) without burning a shared core. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('consumer liveness under a slow trainer (real broker)', () => {
  let k: Kafka;
  let p: Producer;
  const topic = uniqueTopic('liveness');

  before(async () => {
    k = kafka();
    await createTopics(k, topic, `${topic}.dlq`);
    p = await producer(k);
  });

  after(async () => {
    await p.disconnect();
    await deleteTopics(k, topic, `${topic}.dlq`);
  });

  it('trains a backlog of 4 session timeouts once each, without eviction or rejoin', async () => {
    const sent = await replay(rows(EVENTS), { producer: p, topic, sendBatchSize: 400 });
    assert.equal(sent.events, EVENTS);
    const published: PublishRequest[] = [];
    let trainedRows = 0;
    const started = Date.now();
    const result = await runWindow(
      {
        kafka: k,
        spec,
        metrics: countingMetrics(),
        trainer: {
          step: (b: ColumnarBatch) => {
            blockFor(b.size * TRAIN_MS_PER_EVENT);
            trainedRows += b.size;
            return { loss: 0.6, predictions: new Float32Array(b.size).fill(0.3) };
          },
        },
        publishVersion: async (r) => void published.push(r),
      },
      {
        topic,
        groupId: `liveness-${randomUUID()}`,
        batchSize: 32,
        publishEveryEvents: EVENTS,
        publishEverySeconds: 600,
        recordTrainedIds: true,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        heartbeatIntervalMs: 1000,
      },
    );
    const seconds = (Date.now() - started) / 1000;
    assert.ok(
      seconds > (3 * SESSION_TIMEOUT_MS) / 1000,
      `the work (${seconds.toFixed(1)} s) must span several session timeouts`,
    );
    assert.equal(result.stoppedBy, 'versions');
    assert.equal(result.groupJoins, 1, 'the consumer joined its group once: never evicted');
    assert.equal(result.stats.redelivered, 0);
    assert.equal(trainedRows, EVENTS);
    assert.equal(published.length, 1);
    const ids = published[0]?.trainedEventIds ?? [];
    assert.equal(ids.length, EVENTS);
    assert.deepEqual(
      new Set(ids),
      new Set(Array.from({ length: EVENTS }, (_, i) => `${sent.idPrefix}-${i}`)),
    );
    assert.equal(result.lag, 0);
  });
});
