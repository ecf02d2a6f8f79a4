// A window's length is a time (`windowSeconds`): it ends at its first version boundary past it,
// or, on an idle topic, once past it with nothing consumed since its last version.
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

describe('window length (real broker)', () => {
  let k: Kafka;
  let p: Producer;
  const topic = uniqueTopic('window-length');

  before(async () => {
    k = kafka();
    await createTopics(k, topic, `${topic}.dlq`);
    p = await producer(k);
  });

  after(async () => {
    await p.disconnect();
    await deleteTopics(k, topic, `${topic}.dlq`);
  });

  it('ends an idle window once past its time, and a busy one at its first boundary past it', async () => {
    await replay(rows(300), { producer: p, topic, sendBatchSize: 300 });
    const window = async (windowSeconds: number, start: Record<string, number>) => {
      const published: PublishRequest[] = [];
      const started = Date.now();
      const result = await runWindow(
        {
          kafka: k,
          spec,
          metrics: countingMetrics(),
          trainer: {
            step: (b: ColumnarBatch) => ({
              loss: 0.6,
              predictions: new Float32Array(b.size).fill(0.3),
            }),
          },
          publishVersion: async (r) => void published.push(r),
        },
        {
          topic,
          groupId: `window-length-${randomUUID()}`,
          startOffsets: { [topic]: start },
          batchSize: 32,
          publishEveryEvents: 100,
          publishEverySeconds: 600,
          versions: 1000,
          windowSeconds,
        },
      );
      return { result, published, seconds: (Date.now() - started) / 1000 };
    };
    // Past its time at once: it ends at its first version, with a backlog left.
    const busy = await window(0.001, {});
    assert.equal(busy.published.length, 1);
    assert.equal(busy.result.stoppedBy, 'versions');
    // The rest is 2 versions, then the topic is idle: the window ends by its time, not waiting
    // for events that do not come, and nothing is left untrained.
    const offsets = busy.result.offsets[topic] ?? {};
    const idle = await window(3, offsets);
    assert.equal(idle.published.length, 2);
    assert.equal(idle.result.stoppedBy, 'time');
    assert.equal(idle.result.dirty, false);
    assert.ok(idle.seconds >= 3 && idle.seconds < 30, `${idle.seconds} s`);
  });
});
