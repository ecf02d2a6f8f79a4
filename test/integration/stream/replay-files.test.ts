import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { replayRows } from '../../../src/cli/replay';
import { FeatureSpec } from '../../../schemas/feature-spec';
import type { ClickEvent } from '../../../schemas/click-event';
import { DataSourceConfig } from '../../../schemas/data-source';
import { openSource } from '../../../src/data/open-source';
import { writeParquet } from '../../../src/data/parquet';
import { createEventDecoder, eventsToBatch } from '../../../src/stream/event-codec';
import { replay } from '../../../src/stream/replay';
import { sourceColumnSpec } from '../../../src/stream/replay-source-columns';
import { createTopics, deleteTopics, kafka, producer, readAll, uniqueTopic } from './kafka-helpers';

/**
 * `agp replay --spec` of a Parquet file whose spec derives features from a timestamp: the events
 * carry the source columns (the timestamp, not its hour), their event times are the timestamp
 * column's, and the recurring consumer's decoder accepts every event and derives exactly the
 * features the file reader derives, row by row (real Kafka in between).
 */
describe('replay of files sends source columns (real Kafka)', () => {
  const spec = FeatureSpec.parse({
    label: 'click',
    dense: [{ name: 'price', transform: 'log1p' }],
    sparse: [
      { name: 'site', buckets: 50 },
      { name: 'hour', from: 'click_time', derive: { kind: 'hourOfDay', unit: 's' }, buckets: 24 },
      {
        name: 'weekday',
        from: 'click_time',
        derive: { kind: 'dayOfWeek', unit: 's', timeZone: 'Europe/Berlin' },
        buckets: 7,
      },
      { name: 'site_x_hour', cross: ['site', 'hour'], buckets: 97 },
    ],
  });
  const rows = 300;
  const start = Date.parse('2025-06-03T00:00:00Z') / 1000;
  const times = Array.from({ length: rows }, (_, i) => start + i * 317);
  let dir: string;
  let file: string;
  let k: Kafka;
  const topic = uniqueTopic('replay-files');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agp-replay-files-'));
    file = join(dir, 'part-0.parquet');
    // The file holds the source columns: click, price, site, click_time (epoch seconds).
    await writeParquet(
      file,
      [
        {
          size: rows,
          labels: Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 1 : 0)),
          dense: [Array.from({ length: rows }, (_, i) => (i * 7) % 100)],
          sparse: [Array.from({ length: rows }, (_, i) => `s${i % 11}`), times],
        },
      ],
      sourceColumnSpec(spec),
    );
    k = kafka();
    await createTopics(k, topic);
  });
  after(async () => {
    await deleteTopics(k, topic);
    await rm(dir, { recursive: true, force: true });
  });

  it('the consumer accepts every event and derives the same features as the file reader', async () => {
    const config = DataSourceConfig.parse({ kind: 'parquet', path: file });
    const source = replayRows(config, spec, 0);
    const p = await producer(k);
    const acks: { partition: number; offset: string; sentAt: number }[] = [];
    const result = await replay(source.rows, {
      producer: p,
      topic,
      idPrefix: 'f',
      onSent: (records, sentAt) => {
        for (const r of records) {
          assert.equal(r.topicName, topic);
          acks.push({ partition: r.partition, offset: r.baseOffset ?? '', sentAt });
        }
      },
    }).finally(() => p.disconnect());
    assert.equal(result.events, rows);
    // Every produce request is reported with its acknowledged offsets (what bench:serve times).
    assert.ok(acks.length > 0);
    for (const partition of new Set(acks.map((a) => a.partition))) {
      assert.equal(acks.find((a) => a.partition === partition)?.offset, '0');
    }
    assert.equal(result.firstEventTime, (times[0] as number) * 1000, 'event time from click_time');

    const decode = createEventDecoder(spec);
    const events: ClickEvent[] = [];
    for (const message of await readAll(k, topic, rows)) {
      const decoded = decode(message.value);
      assert.ok('ok' in decoded, 'error' in decoded ? decoded.error : '');
      assert.equal(Number(message.timestamp), decoded.ok.eventTime, 'record time = event time');
      events.push(decoded.ok);
    }
    const index = (e: ClickEvent) => Number(e.eventId.slice('f-'.length));
    events.sort((a, b) => index(a) - index(b));
    assert.deepEqual(
      events.map((e) => e.eventTime),
      times.map((t) => t * 1000),
    );
    assert.deepEqual(Object.keys(events[0]?.sparse ?? {}).sort(), ['click_time', 'site']);

    const online = eventsToBatch(events, spec);
    const offline = [];
    for await (const b of openSource(config, spec).batches({ batchSize: rows })) offline.push(b);
    assert.equal(offline.length, 1);
    const batch = offline[0];
    assert.ok(batch);
    assert.deepEqual([...online.labels], [...batch.labels]);
    assert.deepEqual([...online.dense], [...batch.dense]);
    assert.deepEqual([...online.sparse], [...batch.sparse], 'hour, weekday and the cross agree');
  });
});
