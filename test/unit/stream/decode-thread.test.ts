import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ClickEvent } from '../../../schemas/click-event';
import { FeatureSpec } from '../../../schemas/feature-spec';
import type { ColumnarBatch } from '../../../src/data/batch';
import { AgpError } from '../../../src/errors';
import type { DeadLetter } from '../../../src/stream/dead-letter';
import { createDecodePool } from '../../../src/stream/decode-pool';
import { encodeEvent } from '../../../src/stream/event-codec';
import {
  createTrainingLoop,
  type IncomingMessage,
  type PublishRequest,
  type TrainingLoopOptions,
} from '../../../src/stream/training-loop';
import { event, recordingDeadLetters, spec } from './fixtures';

/**
 * The decode thread (src/stream/decode-pool.ts) against the in-thread loop: on the same mixed
 * stream, the same batches bit for bit, dead letters, versions, offsets and counts.
 */

/** Everything a loop did, in order. */
interface Run {
  batches: ColumnarBatch[];
  letters: DeadLetter[];
  published: PublishRequest[];
  stats: unknown;
  positions: unknown;
}

/** A loop with a recording trainer that skips its third step (the numerical guard's way). */
function recordingLoop(overrides: Partial<TrainingLoopOptions>) {
  const batches: ColumnarBatch[] = [];
  const published: PublishRequest[] = [];
  const { sink: deadLetters, letters } = recordingDeadLetters();
  const loop = createTrainingLoop({
    trainer: {
      step: (b) => {
        batches.push(b);
        if (batches.length === 3)
          return { loss: NaN, skipped: { kind: 'non-finite loss', detail: 'loss NaN' } };
        // Predictions that depend on the rows, so the metrics see what was trained.
        const predictions = new Float32Array(b.size);
        for (let r = 0; r < b.size; r++)
          predictions[r] = 1 / (2 + (b.sparse[r * b.numSparse] ?? 0));
        return { loss: 0.5, predictions };
      },
    },
    spec,
    metrics: { add: () => undefined, snapshot: () => ({ ne: 0.9 }) },
    deadLetters,
    publishVersion: async (r) => void published.push(structuredClone(r)),
    startOffsets: { t: { '0': 0, '1': 0 } },
    batchSize: 8,
    publishEveryEvents: 40,
    recordTrainedIds: true,
    // One clock for both threads: a reason names it.
    now: () => Date.UTC(2026, 11, 8),
    ...overrides,
  });
  return { loop, batches, published, letters };
}

/**
 * Feeds `fetches` (Kafka batches) as the recurring trainer's eachBatch does: message by message,
 * publishing when due; `stopAt(fetch, index)` true ends a fetch there (the rest is fetched again).
 */
async function run(
  overrides: Partial<TrainingLoopOptions>,
  fetches: IncomingMessage[][],
  mode: 'handle' | 'decodeAhead',
  stopAt: (fetch: number, index: number) => boolean = () => false,
): Promise<Run> {
  const h = recordingLoop(overrides);
  try {
    for (const [f, fetch] of fetches.entries()) {
      const ahead = h.loop.decodeAhead(fetch);
      for (let i = 0; i < fetch.length; i++) {
        if (stopAt(f, i)) break;
        if (mode === 'handle') await h.loop.handle(fetch[i] as IncomingMessage);
        else await ahead.handle(i);
        if (h.loop.publishDue()) await h.loop.publish();
      }
    }
    await h.loop.publish();
    return {
      batches: h.batches,
      letters: h.letters,
      published: h.published,
      stats: h.loop.stats(),
      positions: h.loop.positions(),
    };
  } finally {
    await h.loop.close();
  }
}

const msg = (partition: number, offset: number, value: Buffer | string | null) => ({
  topic: 't',
  partition,
  offset,
  key: null,
  value: typeof value === 'string' ? Buffer.from(value) : value,
});

/** Every kind of message the decoder tells apart, on two partitions, with redeliveries. */
function mixedStream(encode: (i: number) => Buffer, n = 700): IncomingMessage[] {
  const out: IncomingMessage[] = [];
  const next = [0, 0];
  for (let i = 0; i < n; i++) {
    const partition = i % 3 === 0 ? 1 : 0;
    const offset = next[partition] as number;
    next[partition] = offset + 1;
    const kind = i % 23;
    const value =
      kind === 1
        ? Buffer.from('{not json')
        : kind === 2
          ? Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
          : kind === 3
            ? null
            : kind === 4
              ? encode(i).toString().replace('"v":1', '"v":2')
              : kind === 5
                ? Buffer.from('x'.repeat(2000))
                : kind === 6
                  ? encode(i - 6) // a producer's repeat: the same eventId again
                  : kind === 7
                    ? // A \u escape: the fast check leaves the event to zod.
                      encode(i).toString().replace('"eventId":"', '"eventId":"\\u0041')
                    : kind === 8
                      ? encode(i)
                          .toString()
                          .replace(/"eventTime":\d+/, '"eventTime":8000000000000000')
                      : encode(i);
    out.push(msg(partition, offset, value));
    // A redelivered message now and then (kafkajs after a rebalance).
    if (i % 97 === 50) out.push(msg(partition, offset, value));
  }
  return out;
}

/** Splits messages into fetches of uneven sizes, straddling the decode chunks. */
function fetchesOf(
  messages: IncomingMessage[],
  sizes = [300, 1, 33, 257, 513],
): IncomingMessage[][] {
  const out: IncomingMessage[][] = [];
  for (let i = 0, k = 0; i < messages.length; k++) {
    const size = sizes[k % sizes.length] as number;
    out.push(messages.slice(i, i + size));
    i += size;
  }
  return out;
}

const derivedSpec = FeatureSpec.parse({
  dense: [
    { name: 'price', transform: 'log1p', clip: [0, 3] },
    { name: 'hour_n', from: 'ts', derive: { kind: 'hourOfDay' }, transform: 'none' },
  ],
  sparse: [
    { name: 'hour', from: 'ts', derive: { kind: 'hourOfDay' }, buckets: 24 },
    {
      name: 'price_b',
      from: 'price',
      derive: { kind: 'bucketize', boundaries: [1, 10] },
      buckets: 3,
    },
    { name: 'site', buckets: 100 },
    { name: 'site_x_hour', cross: ['site', 'hour'], buckets: 1000 },
  ],
});

function derivedEvent(i: number): Buffer {
  const e: ClickEvent = {
    v: 1,
    eventId: `d${i}`,
    eventTime: 1_700_000_000_000 + i,
    label: i % 4 === 0 ? 1 : 0,
    dense: { price: i % 11 === 0 ? null : i * 0.7 },
    // A timestamp the derive cannot read is an invalid event (its reason names the column).
    sparse: { ts: i % 19 === 0 ? 'not a time' : 1_700_000_000 + i * 600, site: `s${i % 9}` },
  };
  return encodeEvent(e);
}

async function assertSame(overrides: Partial<TrainingLoopOptions>, messages: IncomingMessage[]) {
  const fetches = fetchesOf(messages);
  const inThread = await run(overrides, fetches, 'handle');
  const offThread = await run({ ...overrides, decodeThread: true }, fetches, 'decodeAhead');
  assert.ok(inThread.batches.length > 10, 'the stream trains');
  assert.ok(inThread.published.length > 3, 'and publishes versions');
  assert.deepEqual(offThread.batches, inThread.batches);
  assert.deepEqual(offThread.letters, inThread.letters);
  assert.deepEqual(offThread.published, inThread.published);
  assert.deepEqual(offThread.stats, inThread.stats);
  assert.deepEqual(offThread.positions, inThread.positions);
  return inThread;
}

describe('decode thread', () => {
  it('gives the in-thread loop’s batches, dead letters, versions and offsets', async () => {
    const same = await assertSame(
      {
        maxEventBytes: 1500,
        validation: { maxFutureSkewSeconds: 3600, minEventTime: null, dedupe: { lastIds: 1000 } },
      },
      mixedStream((i) => encodeEvent(event(i))),
    );
    const kinds = new Set(same.letters.map((l) => l.reason.split(':')[0] ?? ''));
    for (const kind of [
      'bad JSON',
      'bad UTF-8',
      'empty message',
      'invalid event',
      'oversized',
      'duplicate eventId',
      'numerical guard',
      'event time out of range',
    ]) {
      assert.ok(
        [...kinds].some((k) => k.startsWith(kind)),
        `a ${kind} letter (${[...kinds]})`,
      );
    }
    const stats = same.stats as {
      clippedEvents: number;
      redelivered: number;
      skippedBatches: number;
    };
    assert.ok(stats.clippedEvents > 0 && stats.redelivered > 0 && stats.skippedBatches === 1);
  });

  it('holds back the same events, stored as the events themselves', async () => {
    const same = await assertSame(
      { holdBack: { fraction: 0.2, capacity: 30, minEvents: 10 } },
      mixedStream((i) => encodeEvent(event(i))),
    );
    const last = same.published.at(-1);
    assert.ok(last !== undefined && last.heldBack.length === 30);
    const first = last.heldBack[0];
    const sent = mixedStream((i) => encodeEvent(event(i))).find(
      (m) => m.partition === first?.partition && m.offset === first.offset,
    );
    assert.deepEqual(first?.event, JSON.parse(String(sent?.value)));
  });

  it('encodes derived features and crosses as the in-thread loop does', async () => {
    const same = await assertSame({ spec: derivedSpec }, mixedStream(derivedEvent));
    assert.ok(
      same.letters.some((l) => /column ts/.test(l.reason)),
      'a bad timestamp is refused',
    );
  });

  it('stops mid-fetch and resumes from the next fetch as the in-thread loop does', async () => {
    const messages = mixedStream((i) => encodeEvent(event(i)), 400);
    // A fetch cut short (a fairness pause, a stop): its rest comes again in the next fetch.
    const fetches = [messages.slice(0, 300), messages.slice(120, 400)];
    const stopAt = (f: number, i: number) => f === 0 && i === 120;
    const inThread = await run({}, fetches, 'handle', stopAt);
    const offThread = await run({ decodeThread: true }, fetches, 'decodeAhead', stopAt);
    assert.deepEqual(offThread.batches, inThread.batches);
    assert.deepEqual(offThread.published, inThread.published);
    assert.deepEqual(offThread.stats, inThread.stats);
  });

  it('reports a decode thread that failed as an InfraError', async () => {
    // A spec the thread cannot build its decoder from: it fails at start.
    const pool = createDecodePool({ spec: {} as FeatureSpec });
    try {
      await assert.rejects(pool.decode([Buffer.from('{}')], Date.now()), (e: unknown) => {
        assert.ok(e instanceof AgpError && e.kind === 'InfraError', String(e));
        assert.match(e.message, /the decode thread failed/);
        return true;
      });
    } finally {
      await pool.close();
    }
  });

  it('refuses chunks once closed, and leaves none unhandled', async () => {
    const pool = createDecodePool({ spec });
    const pending = pool.decode([encodeEvent(event(1))], Date.now());
    await pool.close();
    await assert.rejects(pending, /closed/);
    await assert.rejects(pool.decode([encodeEvent(event(2))], Date.now()), /closed/);
  });

  it('loads under tsx the ways the product starts, and lets the process exit', () => {
    const child = join(__dirname, 'decode-thread-child.ts');
    const root = join(__dirname, '..', '..', '..');
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    // `node --import tsx` (bin/agp.js, the tests), and the tsx CLI (`npm start`, `npm run worker`).
    for (const [cmd, args] of [
      [process.execPath, ['--import', 'tsx', child]],
      [tsx, [child]],
    ] as const) {
      const out = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
      assert.equal(out.status, 0, `${cmd} ${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stdout, /decoded e7 in a worker thread/);
    }
  });
});
