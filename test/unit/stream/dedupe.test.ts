import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventValidation } from '../../../schemas/event-validation';
import type { DeadLetter, DeadLetterSink } from '../../../src/stream/dead-letter';
import { createEventIdDedupe } from '../../../src/stream/dedupe';
import { createEventDecoder, encodeEvent } from '../../../src/stream/event-codec';
import { createTrainingLoop, type PublishRequest } from '../../../src/stream/training-loop';
import { event, spec } from './fixtures';

const decode = createEventDecoder(spec);
const at = (offset: number) => ({ topic: 't', partition: 0, offset });
const decoded = (id: string) => decode(encodeEvent(event(1, { eventId: id })));

describe('dedupe by eventId', () => {
  it('is off by default: every event passes', () => {
    const d = createEventIdDedupe(undefined);
    assert.ok('ok' in d.check(decoded('a'), at(0)));
    assert.ok('ok' in d.check(decoded('a'), at(1)));
    assert.equal(d.size, 0);
  });

  it('dead-letters a repeat within the last N ids, naming where the first one was', () => {
    const d = createEventIdDedupe({ lastIds: 2 });
    assert.ok('ok' in d.check(decoded('a'), at(0)));
    const again = d.check(decoded('a'), at(1));
    assert.ok('error' in again);
    assert.equal(
      again.error,
      'duplicate eventId: "a" was already consumed at t/0@0 (dedupe over the last 2 ids)',
    );
  });

  it('remembers only the last N ids (bounded memory)', () => {
    const d = createEventIdDedupe({ lastIds: 2 });
    for (const [i, id] of ['a', 'b', 'c'].entries()) assert.ok('ok' in d.check(decoded(id), at(i)));
    assert.equal(d.size, 2);
    assert.ok('ok' in d.check(decoded('a'), at(3)), 'a was forgotten');
    assert.ok('error' in d.check(decoded('c'), at(4)), 'c is remembered');
    assert.equal(d.size, 2);
  });

  it('passes errors through and does not remember invalid events', () => {
    const d = createEventIdDedupe({ lastIds: 10 });
    const bad = { error: 'bad JSON: x' };
    assert.equal(d.check(bad, at(0)), bad);
    assert.equal(d.size, 0);
  });
});

describe('dedupe in the training loop', () => {
  async function run(validation: EventValidation | undefined) {
    const letters: DeadLetter[] = [];
    const published: PublishRequest[] = [];
    const deadLetters: DeadLetterSink = {
      add: (l) => letters.push(l),
      flush: async () => undefined,
      get count() {
        return letters.length;
      },
      byReason: {},
    };
    const loop = createTrainingLoop({
      trainer: { step: (b) => ({ loss: 0.7, predictions: new Float32Array(b.size).fill(0.5) }) },
      spec,
      metrics: { add: () => undefined, snapshot: () => ({}) },
      deadLetters,
      publishVersion: async (r) => {
        published.push(r);
      },
      startOffsets: { t: { '0': 0 } },
      batchSize: 2,
      publishEveryEvents: 100,
      recordTrainedIds: true,
      ...(validation === undefined ? {} : { validation }),
    });
    const ids = ['a', 'b', 'a', 'c', 'b', 'a'];
    for (const [offset, id] of ids.entries()) {
      await loop.handle({
        ...at(offset),
        key: null,
        value: encodeEvent(event(offset, { eventId: id })),
      });
    }
    await loop.publish();
    return { letters, request: published[0], stats: loop.stats() };
  }

  it('without dedupe trains each offset once, duplicates included (exactly-once is per offset)', async () => {
    const { request, letters } = await run(undefined);
    assert.deepEqual(request?.trainedEventIds, ['a', 'b', 'a', 'c', 'b', 'a']);
    assert.equal(letters.length, 0);
  });

  it('with dedupe dead-letters the repeats and trains the rest', async () => {
    const { request, letters, stats } = await run(
      EventValidation.parse({ dedupe: { lastIds: 100 } }),
    );
    assert.deepEqual(request?.trainedEventIds, ['a', 'b', 'c']);
    assert.deepEqual(
      letters.map((l) => [l.offset, l.reason.split(':')[0]]),
      [
        [2, 'duplicate eventId'],
        [4, 'duplicate eventId'],
        [5, 'duplicate eventId'],
      ],
    );
    assert.equal(request?.deadLettered, 3);
    assert.equal(stats.consumed, stats.trained + stats.deadLettered);
  });
});
