import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hashCategorical } from '../../../src/data/hashing';
import { createMovielensSource, MOVIELENS_SPEC } from '../../../src/data/movielens';
import { openSource } from '../../../src/data/open-source';
import { DataError } from '../../../src/errors';
import { sharedDataPath } from '../../shared-data';

const ML = sharedDataPath('movielens-latest-small');
const dir = mkdtempSync(join(tmpdir(), 'agp-ml-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('MovieLens adapter', () => {
  it('splits ml-latest-small by time: every test rating is newer than every train rating', async () => {
    const train = await createMovielensSource({
      dir: ML,
      split: 'train',
      trainFraction: 0.8,
      onInvalid: 'error',
    }).split();
    const test = await createMovielensSource({
      dir: ML,
      split: 'test',
      trainFraction: 0.8,
      onInvalid: 'error',
    }).split();
    assert.equal(train.raw.size + test.raw.size, 100_836);
    assert.equal(train.raw.size, Math.floor(100_836 * 0.8));
    assert.ok(Math.max(...train.timestamps) <= Math.min(...test.timestamps));
    for (let i = 1; i < test.timestamps.length; i++)
      assert.ok(test.timestamps[i]! >= test.timestamps[i - 1]!);
    let pos = 0;
    for (let i = 0; i < train.raw.size; i++) pos += train.raw.labels[i]!;
    const rate = pos / train.raw.size;
    assert.ok(rate > 0.4 && rate < 0.6, `positive rate ${rate}`);
  });

  it('yields batches with its own spec: label = rating ≥ 4, genres, time features', async () => {
    const dataDir = join(dir, 'ml');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir);
    writeFileSync(
      join(dataDir, 'movies.csv'),
      'movieId,title,genres\r\n1,"Movie, The (1995)",Comedy|Romance\r\n2,Other (2001),(no genres listed)\r\n',
    );
    // 1999-01-03 (a Sunday) 13:00 UTC = 915368400; a 4.0 rating is positive, 3.5 is not.
    writeFileSync(
      join(dataDir, 'ratings.csv'),
      'userId,movieId,rating,timestamp\r\n7,2,3.5,915368460\r\n7,1,4.0,915368400\r\n',
    );
    const src = openSource({ kind: 'movielens', dir: dataDir, trainFraction: 0.5 });
    assert.equal(src.spec, MOVIELENS_SPEC);
    const batches = [];
    for await (const b of src.batches({ batchSize: 10 })) batches.push(b);
    const b = batches[0]!;
    assert.equal(b.size, 1); // the older rating only
    assert.deepEqual(Array.from(b.labels), [1]);
    const hour = 13;
    assert.ok(Math.abs(b.dense[0]! - Math.sin((2 * Math.PI * hour) / 24)) < 1e-6);
    assert.ok(Math.abs(b.dense[1]! - Math.cos((2 * Math.PI * hour) / 24)) < 1e-6);
    assert.equal(b.dense[2], 0); // Sunday
    assert.ok(Math.abs(b.dense[3]! - Math.fround(Math.log1p(4))) < 1e-6); // Jan 1999 → 4 years
    assert.deepEqual(Array.from(b.sparse), [
      hashCategorical(7, 0, 4096),
      hashCategorical(1, 1, 65536),
      hashCategorical('Comedy', 2, 64),
      hashCategorical('Comedy|Romance', 3, 2048),
    ]);
    const test = openSource({ kind: 'movielens', dir: dataDir, trainFraction: 0.5, split: 'test' });
    for await (const t of test.batches({ batchSize: 10 }))
      assert.deepEqual(Array.from(t.sparse.slice(2)), [0, 0]);
  });

  it('names the file and line of a malformed rating, or skips it', async () => {
    const dataDir = join(dir, 'bad');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'movies.csv'), 'movieId,title,genres\n1,A (1990),Drama\n');
    writeFileSync(
      join(dataDir, 'ratings.csv'),
      'userId,movieId,rating,timestamp\n1,1,4,100\n1,1,nine,200\n',
    );
    const bad = openSource({ kind: 'movielens', dir: dataDir });
    await assert.rejects(
      (async () => {
        for await (const _ of bad.batches({ batchSize: 4 })) void _;
      })(),
      (e: unknown) =>
        e instanceof DataError && /ratings\.csv:3: rating: not in 0\.\.5: 'nine'/.test(e.message),
    );
    const skip = openSource({
      kind: 'movielens',
      dir: dataDir,
      onInvalid: 'skip',
      trainFraction: 0.5,
    });
    for await (const _ of skip.batches({ batchSize: 4 })) void _;
    assert.equal(skip.skipped, 1);
  });
});
