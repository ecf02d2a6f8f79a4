import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyntheticSource } from '../../../schemas/data-source';
import { hashCategorical } from '../../../src/data/hashing';
import { createSyntheticSource } from '../../../src/data/synthetic/source';
import { eventsToBatch } from '../../../src/stream/event-codec';
import { batchToRows, type RawRow } from '../../../src/stream/replay';
import { syntheticReplayRows } from '../../../src/stream/replay-sources';
import { spec } from './fixtures';

const toEvents = (rows: RawRow[]) =>
  rows.map((r, i) => ({ v: 1 as const, eventId: `e${i}`, eventTime: i, ...r }));

async function take<T>(it: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length === n) break;
  }
  return out;
}

describe('replay rows', () => {
  it('synthetic events encode exactly like the offline synthetic batches', async () => {
    const config = SyntheticSource.parse({
      kind: 'synthetic',
      preset: 'capacity-bound',
      rows: 3000,
      seed: 7,
    });
    const startRow = 2040; // crosses a generator block boundary
    const replayed = syntheticReplayRows(config, startRow);
    const rows = await take(replayed.rows, 20);
    const online = eventsToBatch(toEvents(rows), replayed.spec);
    const { kind: _k, ...options } = config;
    const offline = await take(
      createSyntheticSource(options).batches({ batchSize: 20, startRow }),
      1,
    );
    const b = offline[0];
    assert.ok(b);
    assert.deepEqual([...online.sparse], [...b.sparse]);
    assert.deepEqual([...online.labels], [...b.labels]);
    assert.deepEqual([...online.dense], [...b.dense]);
  });

  it('rows of an encoded batch re-encode to the same dense inputs; categoricals hash again', () => {
    const batch = eventsToBatch(
      toEvents([
        { label: 1, dense: { d1: 12, d2: 0.25 }, sparse: { c1: 'a', c2: 3 } },
        { label: 0, dense: { d1: null, d2: 7 }, sparse: { c1: null, c2: 'z' } },
      ]),
      spec,
    );
    const again = eventsToBatch(toEvents(batchToRows(batch, spec)), spec);
    for (let i = 0; i < batch.dense.length; i++) {
      assert.ok(Math.abs((again.dense[i] as number) - (batch.dense[i] as number)) < 1e-6);
    }
    assert.deepEqual([...again.labels], [...batch.labels]);
    assert.deepEqual(
      [...again.sparse],
      [...batch.sparse].map((bucket, i) => hashCategorical(bucket, i % 2, i % 2 ? 10 : 100)),
    );
  });
});
