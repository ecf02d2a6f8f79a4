import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ColumnarBatch } from '../../../src/data/batch';
import { encodeEvent } from '../../../src/stream/event-codec';
import {
  createTrainingLoop,
  type PublishRequest,
  type TrainingLoopOptions,
} from '../../../src/stream/training-loop';
import { event, recordingDeadLetters, spec } from './fixtures';

/** Records what the loop does, in order. */
function harness(overrides: Partial<TrainingLoopOptions> = {}) {
  const log: string[] = [];
  const batches: ColumnarBatch[] = [];
  const published: PublishRequest[] = [];
  const { sink: deadLetters, letters } = recordingDeadLetters();
  const loop = createTrainingLoop({
    trainer: {
      step: (b, opts) => {
        log.push(`step ${b.size}${opts.predictions ? ' +predictions' : ''}`);
        batches.push(b);
        return { loss: 0.5, predictions: new Float32Array(b.size).fill(0.25) };
      },
    },
    spec,
    metrics: {
      add: (p, l) => log.push(`score ${p.length}/${l.length}`),
      snapshot: () => ({ ne: 0.9 }),
    },
    deadLetters,
    publishVersion: async (r) => {
      log.push(`publish ${r.trainedEvents}`);
      published.push(r);
    },
    startOffsets: { t: { '0': 0, '1': 100 } },
    batchSize: 4,
    publishEveryEvents: 10,
    recordTrainedIds: true,
    ...overrides,
  });
  return { loop, log, batches, published, letters };
}

const msg = (partition: number, offset: number, value: Buffer | string | null) => ({
  topic: 't',
  partition,
  offset,
  key: null,
  value: typeof value === 'string' ? Buffer.from(value) : value,
});

describe('training loop', () => {
  it('scores each micro-batch before training on it', async () => {
    const h = harness();
    for (let i = 0; i < 9; i++) await h.loop.handle(msg(0, i, encodeEvent(event(i))));
    // The step's own forward pass scores the batch; it counts once the guard accepted the step.
    assert.deepEqual(h.log, [
      'step 4 +predictions',
      'score 4/4',
      'step 4 +predictions',
      'score 4/4',
    ]);
    assert.equal(h.loop.stats().trained, 8);
    assert.equal(h.loop.publishDue(), false);
  });

  it('flushes the partial batch before publishing, so offsets and weights agree', async () => {
    const h = harness();
    for (let i = 0; i < 6; i++) await h.loop.handle(msg(0, i, encodeEvent(event(i))));
    for (let i = 0; i < 4; i++) await h.loop.handle(msg(1, 100 + i, encodeEvent(event(10 + i))));
    assert.equal(h.loop.publishDue(), true);
    assert.equal(await h.loop.publish(), true);
    assert.deepEqual(h.log.slice(-3), ['step 2 +predictions', 'score 2/2', 'publish 10']);
    const r = h.published[0];
    assert.ok(r);
    assert.deepEqual(r.fromOffsets, { t: { '0': 0, '1': 100 } });
    assert.deepEqual(r.offsets, { t: { '0': 6, '1': 104 } });
    assert.equal(r.trainedEvents, 10);
    assert.deepEqual(r.trainedEventIds, [
      'e0',
      'e1',
      'e2',
      'e3',
      'e4',
      'e5',
      'e10',
      'e11',
      'e12',
      'e13',
    ]);
    assert.deepEqual(r.eventTimeRange, { min: event(0).eventTime, max: event(13).eventTime });
    assert.equal(r.metrics['ne'], 0.9);
    // The next version starts where this one ended, with fresh counters.
    assert.equal(await h.loop.publish(), false, 'nothing new: no version');
    await h.loop.handle(msg(0, 6, encodeEvent(event(6))));
    await h.loop.publish();
    assert.deepEqual(h.published[1]?.fromOffsets, r.offsets);
    assert.deepEqual(h.published[1]?.offsets, { t: { '0': 7, '1': 104 } });
    assert.deepEqual(h.published[1]?.trainedEventIds, ['e6']);
  });

  it('dead-letters invalid events with their position and keeps training', async () => {
    const h = harness();
    await h.loop.handle(msg(0, 0, encodeEvent(event(0))));
    await h.loop.handle(msg(0, 1, '{not json'));
    await h.loop.handle(msg(0, 2, JSON.stringify({ ...event(2), label: 7 })));
    for (let i = 3; i < 6; i++) await h.loop.handle(msg(0, i, encodeEvent(event(i))));
    assert.equal(h.loop.stats().trained, 4);
    await h.loop.publish();
    assert.deepEqual(
      h.letters.map((l) => [l.partition, l.offset, l.reason.split(':')[0]]),
      [
        [0, 1, 'bad JSON'],
        [0, 2, 'invalid event'],
      ],
    );
    assert.equal(h.published[0]?.deadLettered, 2);
    assert.equal(h.published[0]?.trainedEvents, 4);
    assert.deepEqual(h.published[0]?.offsets, { t: { '0': 6, '1': 100 } });
  });

  it('ignores redelivered messages and those below the start offsets', async () => {
    const h = harness();
    await h.loop.handle(msg(1, 99, encodeEvent(event(99))));
    await h.loop.handle(msg(1, 100, encodeEvent(event(100))));
    await h.loop.handle(msg(1, 100, encodeEvent(event(100))));
    await h.loop.publish();
    assert.deepEqual(h.published[0]?.trainedEventIds, ['e100']);
    assert.equal(h.loop.stats().redelivered, 2);
  });

  it('trains batches whose rows are the events, in order', async () => {
    const h = harness({ batchSize: 2 });
    for (let i = 0; i < 4; i++) await h.loop.handle(msg(0, i, encodeEvent(event(i))));
    assert.deepEqual(
      h.batches.map((b) => [...b.labels]),
      [
        [1, 0],
        [0, 1],
      ],
    );
  });
  it('hands a background publish its boundary and trains on while it is not durable', async () => {
    let finish: () => void = () => undefined;
    const durable = new Promise<void>((resolve) => (finish = resolve));
    const h = harness({ publishVersion: async () => ({ durable }) });
    for (let i = 0; i < 10; i++) await h.loop.handle(msg(0, i, encodeEvent(event(i))));
    const started = await h.loop.startPublish();
    assert.ok(started !== null);
    assert.deepEqual(started.offsets, { t: { '0': 10, '1': 100 } }, 'the boundary');
    // The next version starts at the boundary while the first one is still being published.
    for (let i = 10; i < 14; i++) await h.loop.handle(msg(0, i, encodeEvent(event(i))));
    assert.equal(h.loop.stats().sinceVersion, 4);
    assert.deepEqual(h.loop.publishedOffsets(), { t: { '0': 10, '1': 100 } });
    let done = false;
    void started.durable.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'durable only once the publish says so');
    finish();
    await started.durable;
    assert.equal(done, true);
  });
});
