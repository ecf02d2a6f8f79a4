import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DataSourceConfigInput } from '../../../schemas/data-source';
import { criteoFeatureSpec, FeatureSpec } from '../../../schemas/feature-spec';
import { writeArrow } from '../../../src/data/arrow';
import type { ColumnarBatch } from '../../../src/data/batch';
import { hashCategorical } from '../../../src/data/hashing';
import { openSource } from '../../../src/data/open-source';
import { writeParquet } from '../../../src/data/parquet';
import { encodeRawBatch, type RawBatch } from '../../../src/data/raw-batch';
import type { BatchSource } from '../../../src/data/source';
import { DataError } from '../../../src/errors';
import { sharedDataPath } from '../../shared-data';

/** openSource for a `kind` chosen at run time (a union the config type cannot narrow). */
function openFile(
  cfg: { kind: 'parquet' | 'arrow'; [k: string]: unknown },
  s: FeatureSpec,
): BatchSource {
  return openSource(cfg as DataSourceConfigInput, s);
}

const dir = mkdtempSync(join(tmpdir(), 'agp-readers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CRITEO = sharedDataPath('criteo-first10k', 'train-first10k.tsv');

const spec = FeatureSpec.parse({
  dense: [{ name: 'a' }, { name: 'b', transform: 'none', clip: [-1, 1] }],
  sparse: [
    { name: 'u', buckets: 50 },
    { name: 'v', buckets: 1000 },
  ],
});

async function collect(
  src: BatchSource,
  batchSize: number,
  startRow?: number,
): Promise<ColumnarBatch[]> {
  const out: ColumnarBatch[] = [];
  const opts = startRow === undefined ? { batchSize } : { batchSize, startRow };
  for await (const b of src.batches(opts)) out.push(b);
  return out;
}

function flatten(bs: ColumnarBatch[]): { dense: number[]; sparse: number[]; labels: number[] } {
  return {
    dense: bs.flatMap((b) => Array.from(b.dense)),
    sparse: bs.flatMap((b) => Array.from(b.sparse)),
    labels: bs.flatMap((b) => Array.from(b.labels)),
  };
}

// 7 rows with a missing dense value, a missing categorical, a clip, and integer/string mixes.
const raw: RawBatch = {
  size: 7,
  labels: [1, 0, 0, 1, 0, 1, 0],
  dense: [
    [3, NaN, 0, 10, 1, 2, 5],
    [0.5, -4, 2, 0, 0.25, NaN, -0.5],
  ],
  sparse: [
    ['x', 'y', null, 'x', 'z', 'y', 'x'],
    ['p1', 'p2', 'p3', null, 'p1', 'p2', 'p9'],
  ],
};

function tsvOf(r: RawBatch): string {
  let s = '';
  for (let i = 0; i < r.size; i++) {
    const d = r.dense.map((c) => (Number.isNaN(c[i]!) ? '' : String(c[i])));
    const c = r.sparse.map((col) => col[i] ?? '');
    s += [r.labels[i], ...d, ...c].join('\t') + '\n';
  }
  return s;
}

describe('Criteo TSV reader', () => {
  it('decodes rows, applies transforms and hashing', async () => {
    const path = join(dir, 'small.tsv');
    writeFileSync(path, tsvOf(raw));
    const got = flatten(await collect(openSource({ kind: 'criteo-tsv', path }, spec), 3));
    const want = encodeRawBatch(raw, spec);
    assert.deepEqual(got.labels, Array.from(want.labels));
    assert.deepEqual(got.sparse, Array.from(want.sparse));
    assert.deepEqual(got.dense, Array.from(want.dense));
    assert.equal(got.dense[0], Math.fround(Math.log1p(3)));
    assert.equal(got.dense[3], -1); // -4 clipped
    assert.equal(got.sparse[4], 0); // missing categorical → bucket 0
    assert.equal(got.sparse[1], hashCategorical('p1', 1, 1000));
  });

  it('reads the real Criteo sample: 10,000 rows, 2,182 positives', async () => {
    const src = openSource({ kind: 'criteo-tsv', path: CRITEO }, criteoFeatureSpec(1000));
    const bs = await collect(src, 128);
    assert.equal(bs.length, Math.ceil(10_000 / 128));
    assert.ok(bs.slice(0, -1).every((b) => b.size === 128));
    const all = flatten(bs);
    assert.equal(all.labels.length, 10_000);
    assert.equal(all.labels.filter((l) => l === 1).length, 2182);
    assert.equal(bs[0]!.numDense, 13);
    assert.equal(bs[0]!.numSparse, 26);
    // Line 1: label 0, I1 = 1 → log1p(1); I12 is empty → 0; C22 is empty → bucket 0.
    assert.equal(all.dense[0], Math.fround(Math.LN2));
    assert.equal(all.dense[11], 0);
    assert.equal(all.sparse[21], 0);
    assert.equal(all.sparse[0], hashCategorical('68fd1e64', 0, 1000));
    assert.equal(src.skipped, 0);
  });

  it('splits by offset/limit and resumes from startRow', async () => {
    const spec26 = criteoFeatureSpec(1000);
    const test = flatten(
      await collect(openSource({ kind: 'criteo-tsv', path: CRITEO, offset: 8000 }, spec26), 500),
    );
    assert.equal(test.labels.length, 2000);
    const train = openSource({ kind: 'criteo-tsv', path: CRITEO, limit: 8000 }, spec26);
    const full = flatten(await collect(train, 256));
    assert.equal(full.labels.length, 8000);
    const resumed = flatten(await collect(train, 256, 7000));
    assert.equal(resumed.labels.length, 1000);
    assert.deepEqual(resumed.sparse, full.sparse.slice(7000 * 26));
    assert.deepEqual(resumed.dense, full.dense.slice(7000 * 13));
  });

  it('names the file, line and field of a malformed row, or skips and counts it', async () => {
    const path = join(dir, 'bad.tsv');
    const lines = tsvOf(raw).split('\n');
    lines[2] = lines[2]!.replace(/^0\t0\t2/, '0\tabc\t2'); // line 3: dense 'a' not a number
    lines[4] = '2' + lines[4]!.slice(1); // line 5: label 2
    lines[5] = lines[5]!.split('\t').slice(0, 3).join('\t'); // line 6: too few fields
    writeFileSync(path, lines.join('\n'));
    await assert.rejects(
      collect(openSource({ kind: 'criteo-tsv', path }, spec), 4),
      (e: unknown) => {
        assert.ok(e instanceof DataError);
        assert.match(
          e.message,
          new RegExp(
            `${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: field 2 \\(a\\): not a number: 'abc'`,
          ),
        );
        return true;
      },
    );
    const skipping = openSource({ kind: 'criteo-tsv', path, onInvalid: 'skip' }, spec);
    const got = flatten(await collect(skipping, 4));
    assert.equal(got.labels.length, 4);
    assert.equal(skipping.skipped, 3);
    await assert.rejects(
      collect(openSource({ kind: 'criteo-tsv', path, offset: 3 }, spec), 4),
      /bad\.tsv:5: field 1 \(label\): label must be 0 or 1, got '2'/,
    );
    await assert.rejects(
      collect(openSource({ kind: 'criteo-tsv', path, offset: 5 }, spec), 4),
      /bad\.tsv:6: expected 5 tab-separated fields .* got 3/,
    );
  });
});

describe('Parquet and Arrow readers and writers', () => {
  for (const kind of ['parquet', 'arrow'] as const) {
    const write = kind === 'parquet' ? writeParquet : writeArrow;

    it(`${kind}: round-trips raw rows (nulls, strings) in pieces`, async () => {
      const path = join(dir, `small.${kind}`);
      const pieces = [raw, { ...raw, labels: [0, 0, 1, 1, 0, 0, 1] }];
      // Parquet: several row groups, so ranges and resumes cross group boundaries.
      const written =
        kind === 'parquet'
          ? await writeParquet(path, pieces, spec, { rowGroupSize: 4 })
          : await writeArrow(path, pieces, spec);
      assert.equal(written, 14);
      const src = openFile({ kind, path }, spec);
      const got = flatten(await collect(src, 5));
      const want = pieces.map((p) => encodeRawBatch(p, spec));
      assert.deepEqual(
        got.labels,
        want.flatMap((b) => Array.from(b.labels)),
      );
      assert.deepEqual(
        got.sparse,
        want.flatMap((b) => Array.from(b.sparse)),
      );
      assert.deepEqual(
        got.dense,
        want.flatMap((b) => Array.from(b.dense)),
      );
      const resumed = flatten(await collect(src, 5, 9));
      assert.deepEqual(resumed.sparse, got.sparse.slice(9 * 2));
      const ranged = flatten(await collect(openFile({ kind, path, offset: 6, limit: 3 }, spec), 5));
      assert.deepEqual(ranged.labels, got.labels.slice(6, 9));
    });

    it(`${kind}: integer categoricals hash like their text`, async () => {
      const path = join(dir, `ints.${kind}`);
      const ints: RawBatch = {
        ...raw,
        sparse: [
          [1, 2, null, 4, 5, 6, 7],
          [10, 20, 30, 40, 50, 60, 70],
        ],
      };
      await write(path, [ints], spec);
      const got = flatten(await collect(openFile({ kind, path }, spec), 7));
      assert.equal(got.sparse[0], hashCategorical('1', 0, 50));
      assert.equal(got.sparse[4], 0);
      assert.equal(got.sparse[13], hashCategorical('70', 1, 1000));
    });

    it(`${kind}: a bad label names file and row; skip counts it; a missing column is named`, async () => {
      const path = join(dir, `bad.${kind}`);
      await write(path, [{ ...raw, labels: [1, 0, 3, 1, 0, 1, 0] }], spec);
      await assert.rejects(collect(openFile({ kind, path }, spec), 4), (e: unknown) => {
        assert.ok(e instanceof DataError);
        assert.ok(
          e.message.includes(
            `${kind === 'parquet' ? `${path}: row group 0, row 3` : `${path}: row 3`}: column label: label must be 0 or 1, got '3'`,
          ),
          e.message,
        );
        return true;
      });
      const skipping = openFile({ kind, path, onInvalid: 'skip' }, spec);
      assert.equal(flatten(await collect(skipping, 4)).labels.length, 6);
      assert.equal(skipping.skipped, 1);
      const other = FeatureSpec.parse({
        ...spec,
        sparse: [...spec.sparse, { name: 'w', buckets: 5 }],
      });
      await assert.rejects(collect(openFile({ kind, path }, other), 4), /no column 'w'/);
    });
  }
});

describe('openSource', () => {
  it('rejects a bad config naming the field', () => {
    assert.throws(
      () => openSource({ kind: 'parquet', path: 'x', onInvalid: 'ignore' } as never, spec),
      /onInvalid/,
    );
    assert.throws(() => openSource({ kind: 'feather' } as never, spec), /kind/);
  });
});
