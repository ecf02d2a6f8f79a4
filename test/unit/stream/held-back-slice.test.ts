import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HeldBackSlice,
  isHeldBack,
  parseHeldBack,
  serializeHeldBack,
  type HeldBackEntry,
} from '../../../src/stream/held-back-slice';
import { encodeEvent } from '../../../src/stream/event-codec';
import { createTrainingLoop, type PublishRequest } from '../../../src/stream/training-loop';
import type { DeadLetterSink } from '../../../src/stream/dead-letter';
import { event, spec } from './fixtures';

const entry = (i: number): HeldBackEntry => ({
  topic: 't',
  partition: 0,
  offset: i,
  event: event(i),
});

describe('held-back slice', () => {
  it('holds back about the configured fraction, the same events every time', () => {
    const picked = (f: number) =>
      Array.from({ length: 20_000 }, (_, o) => isHeldBack('clicks', o % 3, o, f));
    const first = picked(0.05);
    assert.deepEqual(picked(0.05), first, 'a retried window holds back the same offsets');
    const share = first.filter(Boolean).length / first.length;
    assert.ok(share > 0.04 && share < 0.06, `share ${share}`);
    assert.equal(picked(0).filter(Boolean).length, 0);
    // Also over a short run of consecutive offsets of one partition (binomial sd ≈ 12.6).
    const run = Array.from({ length: 1000 }, (_, o) => isHeldBack('t-slice', 0, o, 0.2));
    const held = run.filter(Boolean).length;
    assert.ok(Math.abs(held - 200) < 45, `${held} of 1000 held back at 0.2`);
    // Another topic or partition picks other events.
    assert.notDeepEqual(
      Array.from({ length: 200 }, (_, o) => isHeldBack('other', 0, o, 0.5)),
      Array.from({ length: 200 }, (_, o) => isHeldBack('clicks', 0, o, 0.5)),
    );
  });

  it('keeps the most recent events, oldest first', () => {
    const slice = new HeldBackSlice(3);
    for (let i = 0; i < 5; i++) slice.push(entry(i));
    assert.deepEqual(
      slice.entries().map((e) => e.event.eventId),
      ['e2', 'e3', 'e4'],
    );
    assert.throws(() => new HeldBackSlice(0), /positive integer/);
    // A slice seeded from a version's file keeps its most recent entries.
    const seeded = new HeldBackSlice(2, slice.entries());
    assert.deepEqual(
      seeded.entries().map((e) => e.offset),
      [3, 4],
    );
  });

  it('round-trips through the version file and refuses anything else, naming it', () => {
    const entries = [entry(1), entry(2)];
    assert.deepEqual(parseHeldBack(serializeHeldBack(entries), 'f'), entries);
    assert.throws(
      () => parseHeldBack(JSON.stringify({ v: 1, entries: [{ offset: -1 }] }), 'm v000002: slice'),
      /m v000002: slice: not a held-back slice/,
    );
  });

  it('holds back every valid event until the slice can judge, and publishes nothing before', async () => {
    const published: PublishRequest[] = [];
    const trainedIds: string[] = [];
    const loop = createTrainingLoop({
      trainer: {
        step: (b) => ({ loss: 0.5, predictions: new Float32Array(b.size).fill(0.3) }),
      },
      spec,
      metrics: { add: () => undefined, snapshot: () => ({}) },
      deadLetters: { add: () => undefined, flush: async () => undefined, count: 0, byReason: {} },
      publishVersion: async (r) => {
        published.push(r);
        trainedIds.push(...(r.trainedEventIds ?? []));
      },
      startOffsets: { t: { '0': 0 } },
      batchSize: 8,
      publishEveryEvents: 50,
      recordTrainedIds: true,
      holdBack: { fraction: 0.1, capacity: 1000, minEvents: 120 },
    });
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        await loop.handle({
          topic: 't',
          partition: 0,
          offset: i,
          key: null,
          value: encodeEvent(event(i)),
        });
      }
    };
    await send(0, 100);
    assert.equal(loop.publishDue(), false, 'not judgeable yet');
    assert.equal(await loop.publish(), false);
    await send(100, 300);
    assert.equal(loop.publishDue(), true);
    assert.equal(await loop.publish(), true);
    const r = published[0];
    assert.ok(r);
    // The first 120 events are held back whole; after that the usual 10%.
    assert.deepEqual(
      r.heldBack.slice(0, 120).map((e) => e.offset),
      Array.from({ length: 120 }, (_, i) => i),
    );
    const later = Array.from({ length: 180 }, (_, i) => i + 120).filter((o) =>
      isHeldBack('t', 0, o, 0.1),
    );
    assert.deepEqual(
      r.heldBack.slice(120).map((e) => e.offset),
      later,
    );
    assert.equal(r.trainedEvents + r.heldBackEvents, 300, 'every event trained or held back');
  });

  it('starts from the slice the starting version stored (no warm-up again)', async () => {
    const published: PublishRequest[] = [];
    const loop = createTrainingLoop({
      trainer: { step: (b) => ({ loss: 0.5, predictions: new Float32Array(b.size).fill(0.3) }) },
      spec,
      metrics: { add: () => undefined, snapshot: () => ({}) },
      deadLetters: { add: () => undefined, flush: async () => undefined, count: 0, byReason: {} },
      publishVersion: async (r) => void published.push(r),
      startOffsets: { t: { '0': 500 } },
      batchSize: 8,
      publishEveryEvents: 20,
      recordTrainedIds: false,
      holdBack: { fraction: 0.1, capacity: 1000, minEvents: 120 },
      initialHeldBack: Array.from({ length: 150 }, (_, i) => entry(i)),
    });
    for (let i = 500; i < 520; i++) {
      await loop.handle({
        topic: 't',
        partition: 0,
        offset: i,
        key: null,
        value: encodeEvent(event(i)),
      });
    }
    assert.equal(await loop.publish(), true);
    const r = published[0];
    assert.ok(r);
    assert.equal(r.heldBack.length, 150 + r.heldBackEvents);
    assert.ok(r.trainedEvents >= 15, `${r.trainedEvents} trained`);
  });

  it('the training loop neither scores nor trains held-back events and hands them to the gate', async () => {
    const trained: string[] = [];
    const published: PublishRequest[] = [];
    const deadLetters: DeadLetterSink = {
      add: () => undefined,
      flush: async () => undefined,
      count: 0,
      byReason: {},
    };
    const loop = createTrainingLoop({
      trainer: {
        step: (b) => {
          for (let r = 0; r < b.size; r++) trained.push(String(b.labels[r]));
          return { loss: 0.5, predictions: new Float32Array(b.size).fill(0.3) };
        },
      },
      spec,
      metrics: { add: () => undefined, snapshot: () => ({}) },
      deadLetters,
      publishVersion: async (r) => {
        published.push(r);
      },
      startOffsets: { t: { '0': 0 } },
      batchSize: 8,
      publishEveryEvents: 1000,
      recordTrainedIds: true,
      holdBack: { fraction: 0.25, capacity: 1000 },
    });
    const n = 400;
    for (let i = 0; i < n; i++) {
      await loop.handle({
        topic: 't',
        partition: 0,
        offset: i,
        key: null,
        value: encodeEvent(event(i)),
      });
    }
    await loop.publish();
    const r = published[0];
    assert.ok(r);
    const expectedHeld = Array.from({ length: n }, (_, i) => i).filter((i) =>
      isHeldBack('t', 0, i, 0.25),
    );
    assert.deepEqual(
      r.heldBackEventIds,
      expectedHeld.map((i) => `e${i}`),
    );
    assert.equal(r.heldBackEvents, expectedHeld.length);
    assert.equal(r.metrics['heldBackEvents'], expectedHeld.length);
    assert.deepEqual(
      r.heldBack.map((e) => e.event.eventId),
      r.heldBackEventIds,
    );
    assert.equal(r.trainedEvents + r.heldBackEvents, n, 'every event trained or held back');
    assert.equal(trained.length, r.trainedEvents);
    const overlap = r.trainedEventIds?.filter((id) => r.heldBackEventIds?.includes(id));
    assert.deepEqual(overlap, []);
    assert.deepEqual(r.offsets, { t: { '0': n } }, 'held-back events are inside the version');
    assert.equal(loop.stats().heldBack, expectedHeld.length);
  });
});
