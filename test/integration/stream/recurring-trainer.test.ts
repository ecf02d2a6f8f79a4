import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { ColumnarBatch } from '../../../src/data/batch';
import { readDeadLetterHeaders } from '../../../src/stream/dead-letter';
import { encodeEvent } from '../../../src/stream/event-codec';
import { countBetween, type TopicOffsets } from '../../../src/stream/offsets';
import {
  runWindow,
  type RecurringTrainerDeps,
  type WindowProgress,
  type WindowOptions,
} from '../../../src/stream/recurring-trainer';
import { replay } from '../../../src/stream/replay';
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

/** A small fake model (the seam to src/model): remembers how many rows it trained. */
function fakeTrainer() {
  const t = {
    rows: 0,
    step: (b: ColumnarBatch) => {
      t.rows += b.size;
      return { loss: 0.6, predictions: new Float32Array(b.size).fill(0.3) };
    },
  };
  return t;
}

function deps(published: PublishRequest[], trainer = fakeTrainer()): RecurringTrainerDeps {
  return {
    kafka: k,
    trainer,
    spec,
    metrics: countingMetrics(),
    publishVersion: async (r) => {
      published.push(r);
    },
  };
}

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

async function freshTopic(label: string): Promise<string> {
  const topic = uniqueTopic(label);
  topics.push(topic, `${topic}.dlq`);
  await createTopics(k, topic, `${topic}.dlq`);
  return topic;
}

describe('recurring trainer on the real broker', () => {
  it('replays a dataset and trains every event once, spread over the partitions', async () => {
    const topic = await freshTopic('roundtrip');
    const sent = await replay(rows(900), { producer: p, topic, sendBatchSize: 200 });
    assert.equal(sent.events, 900);
    const published: PublishRequest[] = [];
    const d = deps(published);
    const result = await runWindow(d, {
      topic,
      groupId: `g-${randomUUID()}`,
      batchSize: 64,
      publishEveryEvents: 900,
      recordTrainedIds: true,
    });
    assert.equal(result.stoppedBy, 'versions');
    assert.equal(result.stats.trained, 900);
    assert.equal((d.trainer as ReturnType<typeof fakeTrainer>).rows, 900);
    assert.equal(result.lag, 0);
    assert.equal(published.length, 1);
    const ids = published[0]?.trainedEventIds ?? [];
    assert.equal(new Set(ids).size, 900);
    assert.ok(ids.every((id) => id.startsWith(`${sent.idPrefix}-`)));
    const parts = Object.values(result.offsets[topic] ?? {});
    assert.equal(parts.length, 3);
    assert.ok(
      parts.every((n) => n > 150),
      `keys spread over partitions: ${parts.join(',')}`,
    );
    assert.equal(published[0]?.metrics['count'], 900);
  });

  it('dead-letters malformed events with reasons and keeps training', async () => {
    const topic = await freshTopic('dlq');
    const good = rows(40).map((r, i) =>
      encodeEvent({ v: 1, eventId: `ok-${i}`, eventTime: 1000 + i, ...r }),
    );
    const valid = JSON.parse(good[0]!.toString()) as Record<string, unknown>;
    const bad: [string, string | Buffer][] = [
      ['bad JSON', '{"v":1,"eventId":'],
      ['wrong type', JSON.stringify({ ...valid, eventId: 'w', label: 'yes' })],
      ['missing field', JSON.stringify({ ...valid, eventId: 'm', dense: { d1: 1 } })],
      ['NaN', String(good[1]).replace(/"d1":\d+/, '"d1":NaN')],
      ['oversized', JSON.stringify({ ...valid, eventId: 'x'.repeat(70 * 1024) })],
    ];
    // Interleave: 8 good, 1 bad, ...
    const messages = good.flatMap((value, i) =>
      i % 8 === 7 ? [{ value }, { value: bad[(i - 7) / 8]![1] }] : [{ value }],
    );
    await p.send({ topic, messages: messages.map((m, i) => ({ key: `k${i}`, value: m.value })) });
    const published: PublishRequest[] = [];
    const result = await runWindow(deps(published), {
      topic,
      groupId: `g-${randomUUID()}`,
      batchSize: 16,
      publishEveryEvents: messages.length,
      recordTrainedIds: true,
    });
    assert.equal(result.stats.trained, 40);
    assert.equal(result.stats.deadLettered, 5);
    assert.equal(published[0]?.deadLettered, 5);
    assert.equal(published[0]?.metrics['deadLettered'], 5);
    const letters = await readAll(k, `${topic}.dlq`, 5);
    const seen = letters.map((m) => ({ ...readDeadLetterHeaders(m.headers), value: m.value }));
    const reasons = seen.map((s) => s.reason).join('\n');
    assert.match(reasons, /bad JSON/);
    assert.match(reasons, /label: /);
    assert.match(reasons, /dense\.d2: missing feature/);
    assert.match(reasons, /oversized: \d+ bytes/);
    assert.equal(reasons.match(/bad JSON/g)?.length, 2, 'NaN is not JSON');
    for (const s of seen) {
      assert.equal(s.topic, topic);
      assert.ok(s.partition >= 0 && s.partition < 3);
      assert.ok(s.offset >= 0);
    }
    // The original bytes are kept.
    assert.ok(seen.some((s) => s.value?.toString() === '{"v":1,"eventId":'));
  });

  it('restarts from a checkpoint: nothing trained twice, nothing skipped', async () => {
    const topic = await freshTopic('exactly-once');
    const total = 1000;
    const sent = await replay(rows(total), { producer: p, topic, sendBatchSize: 250 });
    // Which event sits at which (partition, offset): the ground truth for every version.
    const log = await readAll(k, topic, total);
    const idsBetween = (from: TopicOffsets, to: TopicOffsets): string[] =>
      log
        .filter((m) => {
          const offset = Number(m.offset);
          const lo = from[topic]?.[m.partition] ?? 0;
          return offset >= lo && offset < (to[topic]?.[m.partition] ?? 0);
        })
        .map((m) => String(m.key))
        .sort();
    const assertExact = (v: PublishRequest | undefined, what: string) => {
      assert.ok(v, what);
      assert.deepEqual(
        [...(v.trainedEventIds ?? [])].sort(),
        idsBetween(v.fromOffsets, v.offsets),
        what,
      );
    };
    const groupId = `g-${randomUUID()}`;
    const base: WindowOptions = { topic, groupId, batchSize: 32, recordTrainedIds: true };
    const published: PublishRequest[] = [];

    // Window A publishes v1 after 300 events and v2 after 600 more (batch size 32 divides
    // neither, so each publish flushes a partial micro-batch).
    const a = await runWindow(deps(published), { ...base, publishEveryEvents: 300, versions: 2 });
    assert.equal(published.length, 2);
    const [v1, v2] = published as [PublishRequest, PublishRequest];
    assert.equal(countBetween({}, v1.offsets), 300);
    assert.equal(countBetween({}, v2.offsets), 600);
    assert.deepEqual(v2.fromOffsets, v1.offsets);
    assert.deepEqual(a.offsets, v2.offsets);
    assertExact(v1, 'v1 holds exactly the events below its offsets');
    assertExact(v2, 'v2 holds exactly the events between v1 and v2');
    // Group offsets are committed after the publish.
    const admin = k.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    for (const { partition, offset } of committed[0]?.partitions ?? []) {
      assert.equal(Number(offset), v2.offsets[topic]?.[partition]);
    }

    // A crash mid-window: events trained into a model that is never published.
    const crash = new AbortController();
    const lost: PublishRequest[] = [];
    const crashing = fakeTrainer();
    const step = crashing.step;
    crashing.step = (b) => {
      if (crashing.rows >= 64) crash.abort();
      return step(b);
    };
    const c = await runWindow(deps(lost, crashing), {
      ...base,
      startOffsets: v2.offsets,
      publishEveryEvents: 10_000,
      signal: crash.signal,
    });
    assert.equal(c.stoppedBy, 'abort');
    assert.equal(lost.length, 0);
    assert.equal(c.dirty, true);
    assert.ok(
      crashing.rows >= 64 && crashing.rows < 400,
      `trained ${crashing.rows} before the crash`,
    );

    // Restart from v1 in the SAME group (its committed offsets are at v2): the seek to the
    // checkpoint wins, so training resumes right after v1 on every partition. (The timeout
    // turns a consumer that skipped events into a failure rather than a wait for events that
    // never come.)
    const again: PublishRequest[] = [];
    const retrain = await runWindow(deps(again), {
      ...base,
      startOffsets: v1.offsets,
      publishEveryEvents: total - 300,
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(retrain.stoppedBy, 'versions');
    assert.deepEqual(again[0]?.fromOffsets, v1.offsets);
    assertExact(again[0], 'a restart from v1 trains exactly the events after v1');
    assert.equal(retrain.lag, 0);

    // Restart from v2 with a fresh group: the rest, and only the rest.
    const rest: PublishRequest[] = [];
    const r = await runWindow(deps(rest), {
      ...base,
      groupId: `g-${randomUUID()}`,
      startOffsets: v2.offsets,
      publishEveryEvents: total - 600,
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(r.lag, 0);
    assertExact(rest[0], 'v3 holds exactly the events after v2');
    const chain = [v1, v2, rest[0]!].flatMap((v) => v.trainedEventIds ?? []);
    assert.equal(chain.length, total, 'no event trained twice');
    assert.deepEqual(
      new Set(chain),
      new Set(Array.from({ length: total }, (_, i) => `${sent.idPrefix}-${i}`)),
      'no event skipped',
    );
  });

  it('publishes on the timer when events trickle in', async () => {
    const topic = await freshTopic('timer');
    await replay(rows(10), { producer: p, topic });
    const published: PublishRequest[] = [];
    const progress: WindowProgress[] = [];
    const result = await runWindow(deps(published), {
      topic,
      groupId: `g-${randomUUID()}`,
      publishEveryEvents: 10_000,
      publishEverySeconds: 1.5,
      progressEveryMs: 200,
      onProgress: (pr) => progress.push(pr),
    });
    assert.equal(published.length, 1);
    // Progress keeps coming while the topic is idle (the activity heartbeats on it).
    assert.ok(progress.length >= 3, `${progress.length} progress reports`);
    assert.equal(progress.at(-1)?.stats.consumed, 10);
    assert.equal(result.stats.trained, 10);
    assert.equal(published[0]?.trainedEvents, 10);
  });

  it('stops cleanly when aborted before or while joining the group', async () => {
    const topic = await freshTopic('abort');
    await replay(rows(5), { producer: p, topic });
    for (const signal of [AbortSignal.abort(), AbortSignal.timeout(50)]) {
      const published: PublishRequest[] = [];
      const result = await runWindow(deps(published), {
        topic,
        groupId: `g-${randomUUID()}`,
        publishEveryEvents: 100,
        signal,
      });
      assert.equal(result.stoppedBy, 'abort');
      assert.equal(published.length, 0);
      assert.equal(result.lag, 5);
    }
  });
});
