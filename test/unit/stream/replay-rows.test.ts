import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriteoTsvSource, SyntheticSource } from '../../../schemas/data-source';
import { criteoFeatureSpec } from '../../../schemas/feature-spec';
import { openSource } from '../../../src/data/open-source';
import { hashCategorical } from '../../../src/data/hashing';
import { createSyntheticSource } from '../../../src/data/synthetic/source';
import { eventsToBatch } from '../../../src/stream/event-codec';
import { batchToRows, type RawRow } from '../../../src/stream/replay';
import { openReplayRows, syntheticReplayRows } from '../../../src/stream/replay-sources';
import { spec } from './fixtures';
import { sharedDataPath } from '../../shared-data';

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

  it('Criteo TSV events carry the raw values, so they encode exactly like the offline reader', async () => {
    const path = sharedDataPath('criteo-first10k', 'train-first10k.tsv');
    const config = CriteoTsvSource.parse({ kind: 'criteo-tsv', path, offset: 100, limit: 200 });
    const spec = criteoFeatureSpec(1000);
    const startRow = 37;
    const replayed = openReplayRows(config, spec, startRow);
    const rows = await take(replayed.rows, 50);
    assert.equal(typeof rows[0]?.sparse['C1'], 'string', 'categoricals are the raw hex strings');
    const online = eventsToBatch(toEvents(rows), spec);
    const [offline] = await take(openSource(config, spec).batches({ batchSize: 50, startRow }), 1);
    assert.ok(offline);
    assert.deepEqual([...online.sparse], [...offline.sparse]);
    assert.deepEqual([...online.labels], [...offline.labels]);
    assert.deepEqual([...online.dense], [...offline.dense]);
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
