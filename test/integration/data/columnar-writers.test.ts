/**
 * Parquet and Arrow files as users' writers make them: pyarrow with its defaults and each
 * compression, encoding and page version, Spark-style (INT96 timestamps), Feather v2 (LZ4) and
 * compressed IPC streams, and DuckDB's COPY ... TO. The same 20,000 rows (nulls, dictionary
 * strings, integer categoricals, labels of five types, timestamp columns no spec uses, several
 * row groups) must decode to what was written, and to identical batches from every file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DataSourceConfigInput } from '../../../schemas/data-source';
import { FeatureSpec } from '../../../schemas/feature-spec';
import { sampleArrow } from '../../../src/data/arrow';
import type { ColumnarBatch } from '../../../src/data/batch';
import { decodeRows } from '../../../src/data/column-decode';
import { openSource } from '../../../src/data/open-source';
import { sampleParquet } from '../../../src/data/parquet';
import { openParquetFile } from '../../../src/data/parquet-read';
import { encodeRawBatch, type RawBatch } from '../../../src/data/raw-batch';
import { InvalidRowPolicy } from '../../../src/data/source';
import { DataError } from '../../../src/errors';
import { ensurePyarrowVenv, pyarrowSkipReason, runPython } from '../../pyarrow-venv';

const ROWS = 20_000;
const BAD_ROW = 12_345; // 0-based row whose `label_bad` is 2 in the DuckDB files
const skip = pyarrowSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'agp-columnar-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Column = (number | string | boolean | null)[];
let expected: Record<string, Column>;
let files: { name: string; format: 'parquet' | 'arrow'; how: string }[];

/** The same rows as write_columnar.py, in DuckDB SQL, with a bad label at BAD_ROW. */
const DUCKDB_SELECT = `
  SELECT
    ((i * 7 + 3) % 5 // 3)::TINYINT AS label_i8,
    ((i * 11) % 3 % 2)::INTEGER AS label_i32,
    ((i // 3) % 2)::BIGINT AS label_i64,
    (CASE WHEN i % 4 = 1 THEN 1.0 ELSE 0.0 END)::DOUBLE AS label_f64,
    (i % 3 = 0) AS label_bool,
    (CASE WHEN i = ${BAD_ROW} THEN 2 ELSE i % 2 END)::INTEGER AS label_bad,
    (CASE WHEN i % 17 = 5 THEN NULL ELSE (i % 101) * 0.25 - 3.5 END)::DOUBLE AS d_f64,
    ((i % 50) * 0.5)::FLOAT AS d_f32,
    (CASE WHEN i % 13 = 0 THEN NULL ELSE (i * 31) % 1000 - 200 END)::INTEGER AS d_i32,
    ((i * 1000003) % 9999991)::BIGINT AS d_i64,
    CASE WHEN i % 19 = 7 THEN NULL ELSE 'site_' || lpad(((i * 7) % 23)::VARCHAR, 2, '0') END AS c_str,
    (10000000000 + (i * 13) % 41)::BIGINT AS c_i64,
    (CASE WHEN i % 29 = 3 THEN NULL ELSE (i * 5) % 37 END)::INTEGER AS c_i32,
    [ 'ios', 'android', 'web', NULL ][i % 4 + 1] AS c_dict,
    make_timestamp((1700000000000 + i * 60000) * 1000) AS ts,
    make_timestamp((1700000000000 + i * 60000) * 1000)::TIMESTAMP_NS AS ts_ns
  FROM range(${ROWS}) t(i) ORDER BY i`;

async function writeDuckdbFiles(): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    const variants = {
      'duckdb-default.parquet': '',
      'duckdb-zstd.parquet': ', COMPRESSION zstd',
      'duckdb-v2.parquet': ', PARQUET_VERSION v2',
    };
    for (const [name, extra] of Object.entries(variants)) {
      // Row groups smaller than DuckDB's 122,880 default, so the file has several.
      await con.run(
        `COPY (${DUCKDB_SELECT}) TO '${join(dir, name)}' (FORMAT parquet, ROW_GROUP_SIZE 8192${extra})`,
      );
      files.push({ name, format: 'parquet', how: `DuckDB COPY${extra || ' defaults'}` });
    }
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

before(async () => {
  if (skip) return;
  const python = ensurePyarrowVenv();
  runPython(python, join(__dirname, 'write_columnar.py'), [dir, String(ROWS)]);
  expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as typeof expected;
  files = JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8')) as typeof files;
  await writeDuckdbFiles();
});

function specFor(label: string): FeatureSpec {
  return FeatureSpec.parse({
    label,
    dense: [{ name: 'd_f64' }, { name: 'd_f32' }, { name: 'd_i32' }, { name: 'd_i64' }],
    sparse: [
      { name: 'c_str', buckets: 100 },
      { name: 'c_i64', buckets: 1000 },
      { name: 'c_i32', buckets: 50 },
      { name: 'c_dict', buckets: 10 },
    ],
  });
}

/** The rows as written, as the raw batch a reader must produce. */
function expectedRaw(spec: FeatureSpec): RawBatch {
  const col = (name: string): Column => {
    const c = expected[name];
    if (c === undefined) throw new Error(`expected.json has no ${name}`);
    return c;
  };
  return {
    size: ROWS,
    labels: col(spec.label).map((v) => Number(v)),
    dense: spec.dense.map((f) => col(f.name).map((v) => (v === null ? NaN : Number(v)))),
    sparse: spec.sparse.map((f) => col(f.name) as (string | number | null)[]),
  };
}

async function read(
  kind: 'parquet' | 'arrow',
  path: string,
  spec: FeatureSpec,
): Promise<ColumnarBatch[]> {
  const src = openSource({ kind, path } as DataSourceConfigInput, spec);
  const out: ColumnarBatch[] = [];
  for await (const b of src.batches({ batchSize: 1024 })) out.push(b);
  return out;
}

function concat(bs: ColumnarBatch[]): { labels: number[]; dense: number[]; sparse: number[] } {
  return {
    labels: bs.flatMap((b) => Array.from(b.labels)),
    dense: bs.flatMap((b) => Array.from(b.dense)),
    sparse: bs.flatMap((b) => Array.from(b.sparse)),
  };
}

describe('files from pyarrow, Spark-style and DuckDB writers', { skip }, () => {
  it('every file decodes to the rows as written (encodings, codecs, page v2, row groups)', async () => {
    const spec = specFor('label_i8');
    const want = encodeRawBatch(expectedRaw(spec), spec);
    assert.ok(files.length >= 19, `only ${files.length} files written`);
    let reference: ColumnarBatch[] | undefined;
    for (const f of files) {
      const path = join(dir, f.name);
      const batches = await read(f.format, path, spec);
      const got = concat(batches);
      const what = `${f.name} (${f.how})`;
      assert.equal(got.labels.length, ROWS, what);
      assert.deepEqual(got.labels, Array.from(want.labels), `${what}: labels`);
      assert.deepEqual(got.dense, Array.from(want.dense), `${what}: dense`);
      assert.deepEqual(got.sparse, Array.from(want.sparse), `${what}: categorical`);
      // Parquet and Arrow of the same rows: identical batches, not only equal values.
      reference ??= batches;
      assert.deepEqual(batches, reference, `${what}: batches differ from ${files[0]?.name}`);
    }
  });

  for (const label of ['label_i8', 'label_i32', 'label_i64', 'label_f64', 'label_bool']) {
    it(`a ${label.slice(6)} label column decodes as 0/1 from Parquet, Arrow and DuckDB`, async () => {
      const spec = specFor(label);
      const want = Array.from(encodeRawBatch(expectedRaw(spec), spec).labels);
      assert.ok(want.includes(0) && want.includes(1));
      for (const [kind, name] of [
        ['parquet', 'pyarrow-default.parquet'],
        ['parquet', 'spark-style.parquet'],
        ['arrow', 'feather-default.arrow'],
        ['parquet', 'duckdb-default.parquet'],
      ] as const) {
        assert.deepEqual(concat(await read(kind, join(dir, name), spec)).labels, want, name);
      }
    });
  }

  it('timestamp columns (ms, ns, Spark INT96, DuckDB) feed derived hour/day features', async () => {
    const spec = FeatureSpec.parse({
      label: 'label_i8',
      dense: [{ name: 'hour_d', from: 'ts_ns', derive: { kind: 'hourOfDay' }, transform: 'none' }],
      sparse: [
        {
          name: 'hour',
          from: 'ts',
          derive: { kind: 'hourOfDay', timeZone: 'Europe/Berlin' },
          buckets: 24,
        },
        { name: 'dow', from: 'ts_ns', derive: { kind: 'dayOfWeek' }, buckets: 7 },
      ],
    });
    // The oracle: the written epoch milliseconds as Dates, through the shared decoding path.
    const dates = (expected['ts'] as number[]).map((ms) => new Date(ms));
    const named = new Map<string, ArrayLike<unknown>>([
      ['label_i8', expected['label_i8'] as number[]],
      ['ts', dates],
      ['ts_ns', dates],
    ]);
    const policy = new InvalidRowPolicy('error');
    const want = encodeRawBatch(decodeRows(named, 0, ROWS, spec, String, policy), spec);
    assert.ok(new Set(want.dense).size === 24, 'the rows span every hour');
    for (const [kind, name] of [
      ['parquet', 'pyarrow-default.parquet'],
      ['parquet', 'spark-style.parquet'],
      ['parquet', 'duckdb-v2.parquet'],
      ['arrow', 'feather-default.arrow'],
      ['arrow', 'stream-zstd.arrows'],
    ] as const) {
      const got = concat(await read(kind, join(dir, name), spec));
      assert.deepEqual(got.dense, Array.from(want.dense), `${name}: hour`);
      assert.deepEqual(got.sparse, Array.from(want.sparse), `${name}: hour, weekday`);
    }
  });

  it('a bad value names file, row group, row and column; the file has several row groups', async () => {
    const path = join(dir, 'duckdb-default.parquet');
    const file = await openParquetFile(path, ['label_bad']);
    assert.ok(file.groupRows.length >= 3, `row groups: ${file.groupRows.join(', ')}`);
    let group = 0;
    for (let start = 0; start + (file.groupRows[group] as number) <= BAD_ROW; group++) {
      start += file.groupRows[group] as number;
    }
    assert.ok(group > 0);
    const spec = specFor('label_bad');
    await assert.rejects(read('parquet', path, spec), (e: unknown) => {
      assert.ok(e instanceof DataError);
      const at = `${path}: row group ${group}, row ${BAD_ROW + 1}: column label_bad:`;
      assert.ok(e.message.startsWith(`${at} label must be 0 or 1, got '2'`), e.message);
      return true;
    });
    const skipping = openSource({ kind: 'parquet', path, onInvalid: 'skip' }, spec);
    let n = 0;
    for await (const b of skipping.batches({ batchSize: 1000 })) n += b.size;
    assert.equal(n, ROWS - 1);
    assert.equal(skipping.skipped, 1);
  });

  it('sampleParquet / sampleArrow: column types, row count, first values (timestamps as Dates)', async () => {
    for (const sample of [
      await sampleParquet(join(dir, 'pyarrow-default.parquet'), 5),
      await sampleArrow(join(dir, 'feather-default.arrow'), 5),
    ]) {
      const types = new Map(sample.columns.map((c) => [c.name, c.fileType]));
      const values = (n: string) => sample.values.get(n);
      assert.deepEqual(values('label_bool'), expected['label_bool']?.slice(0, 5));
      assert.deepEqual(values('c_i64'), expected['c_i64']?.slice(0, 5));
      assert.deepEqual(values('c_dict'), expected['c_dict']?.slice(0, 5));
      assert.deepEqual(values('d_i32'), expected['d_i32']?.slice(0, 5));
      for (const ts of ['ts', 'ts_us', 'ts_ns']) {
        assert.deepEqual(
          values(ts)?.map((d) => (d as Date).getTime()),
          expected['ts']?.slice(0, 5),
          ts,
        );
      }
      if (sample.format === 'parquet') {
        assert.equal(sample.totalRows, ROWS);
        assert.equal(types.get('label_i8'), 'INT32 (INT(8, signed))');
        assert.equal(types.get('c_str'), 'BYTE_ARRAY (STRING)');
        assert.equal(types.get('ts'), 'INT64 (TIMESTAMP(MILLIS))');
      } else {
        assert.equal(sample.totalRows, undefined);
        assert.equal(types.get('label_i8'), 'Int8');
        assert.equal(types.get('c_dict'), 'Dictionary<Int32, Utf8>');
        assert.equal(types.get('ts'), 'Timestamp<MILLISECOND>');
      }
    }
  });

  it('a corrupt compressed Arrow file or a missing file is a DataError naming the file', async () => {
    const good = readFileSync(join(dir, 'feather-default.arrow'));
    const bad = join(dir, 'corrupt.arrow');
    const spoilt = Buffer.from(good);
    // Overwrite the middle of the body (LZ4 frames), keeping the footer and schema intact.
    spoilt.fill(0xff, Math.floor(good.length * 0.3), Math.floor(good.length * 0.6));
    writeFileSync(bad, spoilt);
    const spec = specFor('label_i8');
    await assert.rejects(read('arrow', bad, spec), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.ok(e.message.startsWith(`${bad}: `), e.message);
      return true;
    });
    for (const kind of ['parquet', 'arrow'] as const) {
      const missing = join(dir, `missing.${kind}`);
      await assert.rejects(read(kind, missing, spec), new DataError(`${missing}: no such file`));
    }
  });
});
