import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { ColumnarBatch } from '../../../src/data/batch';
import { encodeEvent } from '../../../src/stream/event-codec';
import type { TopicOffsets } from '../../../src/stream/offsets';
import { runWindow, type WindowOptions } from '../../../src/stream/recurring-trainer';
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

const PER_VERSION = 200;
const BACKLOG = 3000;
/** The partition with the backlog: the last one, which kafkajs hands over last in each fetch. */
const LAGGING = 2;
/** Events per second on each of the other partitions (together below what the trainer takes). */
const LIVE_RATE = 250;
/** The stand-in model trains one event per millisecond, as a small real one does here. */
const trainer = {
  step: async (b: ColumnarBatch) => {
    await new Promise((r) => setTimeout(r, b.size));
    return { loss: 0.6, predictions: new Float32Array(b.size).fill(0.3) };
  },
};

/** What one published version saw: its consumed range and the partitions' ends at publish. */
interface Observed {
  from: Record<string, number>;
  to: Record<string, number>;
  ends: Record<string, number>;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const lag = (o: Observed, p: number): number => (o.ends[p] ?? 0) - (o.to[p] ?? 0);
/** How far the lagging partition is behind the least lagging other one. */
const behind = (o: Observed): number => lag(o, LAGGING) - Math.min(lag(o, 0), lag(o, 1));
/** Events a version took from the partitions other than LAGGING. */
const fromOthers = (o: Observed): number =>
  sum([0, 1].map((p) => (o.to[p] ?? 0) - (o.from[p] ?? 0)));

/**
 * Issue 26 item 3, fair consumption: one partition holds a backlog, the others are fed live, and
 * the recurring phase runs its default one version per window. kafkajs hands a fetch's batches
 * over in partition order, so without fairness each window filled its version from the live
 * partitions first and the backlog waited; with it (the default), the lagging partition catches
 * up within a version's worth of events from the others, and stays within a version's worth.
 */
describe('fair partition consumption on the real broker', { timeout: 300_000 }, () => {
  let k: Kafka;
  let p: Producer;
  let admin: Admin;
  const topics: string[] = [];

  before(async () => {
    k = kafka();
    p = await producer(k);
    admin = k.admin();
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
    await p.disconnect();
    if (topics.length) await deleteTopics(k, ...topics);
  });

  /**
   * Fills LAGGING with the backlog, feeds the other partitions live, and runs `windows` windows
   * of one version each, every one starting where the last ended (as the workflow does).
   */
  async function run(
    label: string,
    windows: number,
    fairness: WindowOptions['fairness'],
  ): Promise<Observed[]> {
    const topic = uniqueTopic(label);
    topics.push(topic, `${topic}.dlq`);
    await createTopics(k, topic, `${topic}.dlq`);
    const values = rows(BACKLOG + 20_000).map((r, i) =>
      encodeEvent({ v: 1, eventId: `${label}-${i}`, eventTime: 1000 + i, ...r }),
    );
    let next = 0;
    for (let i = 0; i < BACKLOG; i += 100) {
      await p.send({
        topic,
        messages: values.slice(next, (next += 100)).map((value) => ({ value, partition: LAGGING })),
      });
    }
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        const messages = [0, 1].flatMap((partition) =>
          values.slice(next, (next += LIVE_RATE / 10)).map((value) => ({ value, partition })),
        );
        await p.send({ topic, messages });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const observed: Observed[] = [];
    let offsets: TopicOffsets = {};
    const groupId = `fair-${randomUUID()}`;
    try {
      for (let w = 0; w < windows; w++) {
        const result = await runWindow(
          {
            kafka: k,
            trainer,
            spec,
            metrics: countingMetrics(),
            publishVersion: async (request) => {
              const ends = await admin.fetchTopicOffsets(topic);
              observed.push({
                from: { ...request.fromOffsets[topic] },
                to: { ...request.offsets[topic] },
                ends: Object.fromEntries(ends.map((e) => [e.partition, Number(e.high)])),
              });
            },
          },
          {
            topic,
            groupId,
            startOffsets: offsets,
            batchSize: 50,
            publishEveryEvents: PER_VERSION,
            publishEverySeconds: 3600,
            versions: 1,
            ...(fairness === undefined ? {} : { fairness }),
          },
        );
        offsets = result.offsets;
      }
    } finally {
      feeding = false;
      await feeder;
    }
    return observed;
  }

  it('the lagging partition catches up within a version of events from the others', async () => {
    const windows = 20;
    const fair = await run('fair', windows, undefined);
    const table = fair.map(
      (o, i) =>
        `v${i + 1}: lags ${[0, 1, 2].map((q) => lag(o, q)).join('/')}, others +${fromOthers(o)}`,
    );
    process.stdout.write(`# fair:\n#   ${table.join('\n#   ')}\n`);
    const caughtUp = fair.findIndex((o) => behind(o) <= PER_VERSION);
    assert.ok(caughtUp >= 0, `never caught up:\n${table.join('\n')}`);
    const before = sum(fair.slice(0, caughtUp + 1).map(fromOthers));
    assert.ok(
      before <= PER_VERSION,
      `${before} events from the other partitions before the lagging one caught up:\n${table.join('\n')}`,
    );
    // From then on only partitions within a version of the most lagging one advance (lags at
    // the previous publish: the version's start). When the trainer cannot keep up with the
    // live partitions they all fall behind together; the one that is ahead then waits.
    for (let i = 1; i < fair.length; i++) {
      const [start, o] = [fair[i - 1], fair[i]] as [Observed, Observed];
      const most = Math.max(...[0, 1, 2].map((q) => lag(start, q)));
      for (const q of [0, 1, 2]) {
        if ((o.to[q] ?? 0) === (o.from[q] ?? 0)) continue;
        assert.ok(
          lag(start, q) >= most - PER_VERSION,
          `v${i + 1}: partition ${q} advanced while another was more than a version further behind:\n${table.join('\n')}`,
        );
      }
    }

    // The control: the same stream without fairness leaves the backlog waiting while the other
    // partitions advance (this is what the test guards against).
    const unfair = await run('unfair', 8, false);
    const advanced = sum(unfair.map(fromOthers));
    const last = unfair.at(-1);
    assert.ok(last !== undefined);
    process.stdout.write(
      `# without fairness: after ${unfair.length} versions partition ${LAGGING} lags ${lag(last, LAGGING)}; others advanced ${advanced}\n`,
    );
    assert.ok(
      lag(last, LAGGING) > PER_VERSION && advanced > PER_VERSION,
      'without fairness the backlog waits while the others advance',
    );
  });
});
