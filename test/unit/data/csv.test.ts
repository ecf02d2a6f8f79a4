import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import type { ClickEvent } from '../../../schemas/click-event';
import type { DataSourceConfigInput } from '../../../schemas/data-source';
import {
  criteoFeatureSpec,
  FeatureSpec,
  type FeatureSpecInput,
} from '../../../schemas/feature-spec';
import { parseTrainConfig } from '../../../schemas/train-config';
import type { ColumnarBatch } from '../../../src/data/batch';
import { sourceColumns } from '../../../src/data/column-decode';
import { createCriteoTsvAsCsv } from '../../../src/data/criteo-tsv';
import { sampleCsv } from '../../../src/data/file-sample';
import { inspectFile, inspectSample } from '../../../src/data/inspect';
import { hashCategorical } from '../../../src/data/hashing';
import { openSource } from '../../../src/data/open-source';
import type { BatchSource } from '../../../src/data/source';
import { ConfigError, DataError } from '../../../src/errors';
import { createEventDecoder, eventsToBatch } from '../../../src/stream/event-codec';
import { syntheticReplayRows } from '../../../src/stream/replay-sources';
import { runOfflineTraining } from '../../../src/train/offline';
import { sharedDataPath } from '../../shared-data';

const dir = mkdtempSync(join(tmpdir(), 'agp-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const CRITEO = sharedDataPath('criteo-first10k', 'train-first10k.tsv');

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function open(cfg: Record<string, unknown>, spec: FeatureSpec): BatchSource {
  return openSource({ kind: 'csv', ...cfg } as DataSourceConfigInput, spec);
}

async function all(src: BatchSource, batchSize = 3): Promise<ColumnarBatch[]> {
  const out: ColumnarBatch[] = [];
  for await (const b of src.batches({ batchSize })) out.push(b);
  return out;
}

function flat(bs: ColumnarBatch[]) {
  return {
    labels: bs.flatMap((b) => Array.from(b.labels)),
    dense: bs.flatMap((b) => Array.from(b.dense)),
    sparse: bs.flatMap((b) => Array.from(b.sparse)),
  };
}

const spec = FeatureSpec.parse({
  label: 'click',
  dense: [{ name: 'price', transform: 'none' }],
  sparse: [
    { name: 'site', buckets: 1000 },
    { name: 'app', buckets: 1000 },
  ],
});

// Quoted fields with the delimiter, a newline and doubled quotes; an empty dense cell.
const HEADER_CSV =
  'click,site,price,app,unused\n' +
  '1,"a,b",2.5,x,u\n' +
  '0,"multi\nline",,"say ""hi""",u\n' +
  'true,plain,-1,y,u\n';

describe('CSV source', () => {
  it('binds columns by header name, reads quoted fields, and ignores unused columns', async () => {
    const got = flat(await all(open({ path: file('h.csv', HEADER_CSV) }, spec)));
    assert.deepEqual(got.labels, [1, 0, 1]);
    assert.deepEqual(got.dense, [2.5, 0, -1]);
    assert.deepEqual(got.sparse, [
      hashCategorical('a,b', 0, 1000),
      hashCategorical('x', 1, 1000),
      hashCategorical('multi\nline', 0, 1000),
      hashCategorical('say "hi"', 1, 1000),
      hashCategorical('plain', 0, 1000),
      hashCategorical('y', 1, 1000),
    ]);
  });

  it('gives identical batches for the same rows in another column order, TSV, gzip, declared columns', async () => {
    const want = flat(await all(open({ path: file('a.csv', HEADER_CSV) }, spec)));
    const reordered =
      'unused;app;price;site;click\n' +
      'u;x;2.5;"a,b";1\n' +
      'u;"say ""hi""";;"multi\nline";0\n' +
      'u;y;-1;plain;true\n';
    const cases: Record<string, unknown>[] = [
      { path: file('r.csv', reordered), delimiter: ';' },
      { path: file('r.csv.gz', gzipSync(reordered)), delimiter: ';' },
      {
        path: file('d.tsv', reordered.split('\n').slice(1).join('\n').replaceAll(';', '\t')),
        delimiter: '\t',
        columns: ['unused', 'app', 'price', 'site', 'click'],
      },
    ];
    for (const cfg of cases)
      assert.deepEqual(flat(await all(open(cfg, spec))), want, String(cfg.path));
  });

  it('names the file and the missing column', async () => {
    const path = file('m.csv', 'click,site,price\n1,a,2\n');
    await assert.rejects(all(open({ path }, spec)), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /m\.csv: no column 'app' \(the FeatureSpec reads it; the file's columns: click, site, price\)/,
      );
      return true;
    });
  });

  it('names file, line and column of a bad value, or skips and counts it', async () => {
    const path = file(
      'bad.csv',
      'click,site,price,app\n1,a,1,x\n0,"two\nlines",1,x\n1,b,abc,x\n2,c,1,x\n',
    );
    await assert.rejects(
      all(open({ path }, spec)),
      /bad\.csv:5: column price: not a number: 'abc'/,
    );
    await assert.rejects(
      all(open({ path, offset: 3 }, spec)),
      /bad\.csv:6: column click: label must be 0 or 1, got '2'/,
    );
    const skipping = open({ path, onInvalid: 'skip' }, spec);
    assert.equal(flat(await all(skipping)).labels.length, 2);
    assert.equal(skipping.skipped, 2);
    const short = file('short.csv', 'click,site,price,app\n1,a,1\n');
    await assert.rejects(
      all(open({ path: short }, spec)),
      /short\.csv:2: expected 4 fields .* got 3/,
    );
  });

  it('applies offset and limit to data rows and resumes raw batches from startRow', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `${i % 2},s${i},${i},a${i}`);
    const path = file('o.csv', `click,site,price,app\n${lines.join('\n')}\n`);
    const got = flat(await all(open({ path, offset: 2, limit: 5 }, spec)));
    assert.deepEqual(got.dense, [2, 3, 4, 5, 6]);
    const raws = [];
    for await (const r of open({ path }, spec).rawBatches!({ startRow: 8 })) raws.push(r);
    assert.deepEqual(
      raws.flatMap((r) => Array.from(r.sparse[0]!)),
      ['s8', 's9'],
    );
  });
});

describe('derived features', () => {
  const derived = FeatureSpec.parse({
    dense: [
      {
        name: 'hour_n',
        from: 'ts',
        derive: { kind: 'hourOfDay', timeZone: 'Europe/Berlin' },
        transform: 'none',
      },
    ],
    sparse: [
      {
        name: 'hour',
        from: 'ts',
        derive: { kind: 'hourOfDay', timeZone: 'Europe/Berlin' },
        buckets: 24,
      },
      {
        name: 'dow',
        from: 'ts',
        derive: { kind: 'dayOfWeek', timeZone: 'Europe/Berlin' },
        buckets: 8,
      },
      {
        name: 'price_b',
        from: 'price',
        derive: { kind: 'bucketize', boundaries: [1, 10, 100] },
        buckets: 5,
      },
      { name: 'site', buckets: 100 },
      { name: 'site_x_hour', cross: ['site', 'hour'], buckets: 1000 },
    ],
  });
  // Berlin left CET (UTC+1) for CEST (UTC+2) at 2024-03-31 01:00 UTC, a Sunday.
  const rows = [
    ['2024-03-31T00:30:00Z', '0.5', 'a'], // 01:30 CET, Sunday
    [String(Date.UTC(2024, 2, 31, 1, 30) / 1000), '1', 'b'], // 03:30 CEST (epoch s)
    ['2024-03-30 23:59:59', '10', 'a'], // no offset: UTC → 00:59 Sunday in Berlin
    ['2024-04-01T21:59:00Z', '99.9', ''], // 23:59 CEST Monday; missing site → missing cross
    ['', '100', 'c'], // missing timestamp → missing hour/day; 100 → last bucket
  ];
  const csv = `label,ts,price,site\n${rows.map((r) => `1,${r.join(',')}`).join('\n')}\n`;

  it('hourOfDay across a DST change, dayOfWeek, bucketize edges and a cross', async () => {
    assert.deepEqual(sourceColumns(derived), ['label', 'ts', 'price', 'site']);
    const raws = [];
    for await (const r of open({ path: file('t.csv', csv) }, derived).rawBatches!({})) raws.push(r);
    const raw = raws[0]!;
    assert.deepEqual(Array.from(raw.dense[0]!), [1, 3, 0, 23, NaN]);
    assert.deepEqual(raw.sparse[0], [1, 3, 0, 23, null]);
    assert.deepEqual(raw.sparse[1], [0, 0, 0, 1, null]);
    assert.deepEqual(raw.sparse[2], [0, 1, 2, 2, 3]);
    assert.deepEqual(raw.sparse[4], ['a\u001f1', 'b\u001f3', 'a\u001f0', null, null]);
  });

  it('a bad timestamp names line, column and feature; a wrong unit suggests the right one', async () => {
    const bad = file(
      'badts.csv',
      'label,ts,price,site\n1,2024-01-01T00:00:00Z,1,a\n1,yesterday,1,a\n',
    );
    await assert.rejects(
      all(open({ path: bad }, derived)),
      /badts\.csv:3: column ts \(feature hour_n\): not a timestamp .*'yesterday'/,
    );
    const ms = file('ms.csv', `label,ts,price,site\n1,${Date.UTC(2024, 0, 1)},1,a\n`);
    await assert.rejects(
      all(open({ path: ms }, derived)),
      /outside the years 1900\.\.2999 \(set derive\.unit: 'ms'\?\)/,
    );
  });

  it('click events carry the source columns and derive the same batch as the file', async () => {
    const fileBatch = flat(await all(open({ path: file('t2.csv', csv) }, derived), 100));
    const decode = createEventDecoder(derived, { now: () => Date.UTC(2030, 0, 1) });
    const events = rows.map((r, i) => {
      const ev = {
        v: 1,
        eventId: `e${i}`,
        eventTime: 1,
        label: 1,
        dense: {},
        sparse: {
          ts: r[0] === '' ? null : i === 1 ? Number(r[0]) : r[0],
          price: Number(r[1]),
          site: r[2],
        },
      };
      const res = decode(JSON.stringify(ev));
      assert.ok('ok' in res, JSON.stringify(res));
      return res.ok as ClickEvent;
    });
    assert.deepEqual(flat([eventsToBatch(events, derived)]), fileBatch);
    const bad = decode(
      JSON.stringify({
        v: 1,
        eventId: 'b',
        eventTime: 1,
        label: 0,
        dense: {},
        sparse: { ts: 'soon', price: 1, site: 'a' },
      }),
    );
    assert.ok(
      'error' in bad &&
        /invalid event: column ts \(feature hour_n\): not a timestamp/.test(bad.error),
      JSON.stringify(bad),
    );
    const missing = decode(
      JSON.stringify({
        v: 1,
        eventId: 'c',
        eventTime: 1,
        label: 0,
        dense: {},
        sparse: { price: 1, site: 'a' },
      }),
    );
    assert.ok(
      'error' in missing && /sparse\.ts: missing feature/.test(missing.error),
      JSON.stringify(missing),
    );
  });

  it('schema errors name the field: unknown zone, unsorted boundaries, cross of a cross', () => {
    const r = FeatureSpec.safeParse({
      dense: [],
      sparse: [
        {
          name: 'h',
          from: 'ts',
          derive: { kind: 'hourOfDay', timeZone: 'Mars/Olympus' },
          buckets: 24,
        },
        { name: 'b', derive: { kind: 'bucketize', boundaries: [2, 1] }, buckets: 3 },
        { name: 'x', cross: ['h', 'b'], buckets: 9 },
        { name: 'y', cross: ['x', 'b'], buckets: 9 },
      ],
    });
    assert.ok(!r.success);
    const paths = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(
      paths.some((p) => p.startsWith('sparse.0.derive.timeZone: unknown IANA')),
      paths.join('\n'),
    );
    assert.ok(
      paths.some((p) => p.startsWith('sparse.1.derive.boundaries: ')),
      paths.join('\n'),
    );
    assert.ok(
      paths.some((p) => p.startsWith("sparse.3.cross.0: 'x' is itself a cross")),
      paths.join('\n'),
    );
    assert.throws(
      () =>
        openSource(
          { kind: 'criteo-tsv', path: CRITEO },
          FeatureSpec.parse({ dense: [], sparse: [{ name: 'h', from: 'ts', buckets: 2 }] }),
        ),
      ConfigError,
    );
  });
});

describe('all-categorical and all-dense specs', () => {
  it('produce batches with numDense 0 or numSparse 0', async () => {
    const path = file('ad.csv', 'label,a,b\n1,2,x\n0,3,y\n');
    const cat = FeatureSpec.parse({ dense: [], sparse: [{ name: 'b', buckets: 10 }] });
    const den = FeatureSpec.parse({ dense: [{ name: 'a', transform: 'none' }], sparse: [] });
    const [c] = await all(open({ path }, cat), 10);
    assert.equal(c!.numDense, 0);
    assert.equal(c!.dense.length, 0);
    assert.deepEqual(Array.from(c!.sparse), [
      hashCategorical('x', 0, 10),
      hashCategorical('y', 0, 10),
    ]);
    const [d] = await all(open({ path }, den), 10);
    assert.equal(d!.numSparse, 0);
    assert.deepEqual(Array.from(d!.dense), [2, 3]);
    assert.ok(!FeatureSpec.safeParse({ dense: [], sparse: [] }).success);
  });
});

describe('criteo-tsv preset', () => {
  // Hashes of the batches (batch size 512, 1000 buckets) before the CSV work: the Criteo reader's
  // output must not change (committed results depend on it).
  const BEFORE: Record<string, string> = {
    '{}': 'c8b9353ad24c7d4fe23825634f5a4b07d86c1477cbdbd68f29b6e913c4345779',
    '{"offset":100,"limit":5000}':
      '7c7c94db2ae98948b3593a9c6a4a3a400a6fe57ff07e72be6d706face1898653',
  };
  async function digest(src: BatchSource): Promise<string> {
    const h = createHash('sha256');
    for await (const b of src.batches({ batchSize: 512 })) {
      for (const a of [b.dense, b.sparse, b.labels])
        h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
    return h.digest('hex');
  }
  it('gives the same batch bytes as before, through its reader and as a generic CSV', async () => {
    for (const [extra, want] of Object.entries(BEFORE)) {
      const opts = { offset: 0, onInvalid: 'error' as const, ...JSON.parse(extra), path: [CRITEO] };
      const s = criteoFeatureSpec(1000);
      assert.equal(await digest(openSource({ kind: 'criteo-tsv', ...opts }, s)), want, extra);
      assert.equal(await digest(createCriteoTsvAsCsv(opts, s)), want, `${extra} via csv`);
    }
  });
});

describe('inspect', () => {
  it('reports columns, row count, label rate and a spec for the Criteo TSV', async () => {
    const r = await inspectFile(CRITEO, { csv: sampleCsv }, { maxRows: 2000 });
    assert.equal(r.rows, 10_000);
    assert.equal(r.sampledRows, 2000);
    assert.equal(r.label?.name, 'label');
    assert.equal(r.source.delimiter, '\t');
    assert.equal(r.columns.length, 40);
    FeatureSpec.parse(r.features);
  });

  it('suggests a spec from a CSV with a header and a timestamp that trains to NE < 1', async () => {
    // Synthetic rows (a planted teacher, so there is signal) as a CSV with a header, columns in
    // another order than the generator's, quoted strings and a timestamp column.
    const n = 6000;
    const synth = syntheticReplayRows({
      kind: 'synthetic',
      preset: 'capacity-bound',
      rows: n,
      seed: 5,
      numDense: 4,
      numSparse: 5,
    } as never);
    const lines: string[] = [];
    let header: string[] = [];
    let i = 0;
    for await (const row of synth.rows) {
      const cells: Record<string, string> = {
        ts: new Date(Date.UTC(2024, 0, 1) + i * 977_000).toISOString(),
        clicked: String(row.label),
      };
      for (const [k, v] of Object.entries(row.dense)) cells[k] = v === null ? '' : String(v);
      for (const [k, v] of Object.entries(row.sparse)) cells[k] = v === null ? '' : `"v ${v}"`;
      if (i === 0) header = Object.keys(cells).reverse();
      lines.push(header.map((h) => cells[h]).join(','));
      i++;
    }
    const path = file('synth.csv', `${header.join(',')}\n${lines.join('\n')}\n`);
    const report = inspectSample(await sampleCsv(path, 5000));
    assert.equal(report.rows, n);
    assert.equal(report.label?.name, 'clicked');
    const features = FeatureSpec.parse(report.features) as FeatureSpecInput;
    assert.ok(features.sparse.some((f) => f.derive?.kind === 'hourOfDay'));
    const { kind: _kind, path: _path, ...csvOpts } = report.source;
    const config = parseTrainConfig({
      name: 'csv-inspect',
      data: {
        train: { kind: 'csv', path, ...csvOpts, limit: 4800 },
        test: { kind: 'csv', path, ...csvOpts, offset: 4800 },
        features,
      },
      model: {
        bottom: [16, 8],
        top: [16, 1],
        embeddingDim: 8,
        batchSize: 32,
        denseOptimizer: { kind: 'adam', lr: 0.003 },
        embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.05 },
      },
      agp: { schedule: 'dense' },
      epochs: 2,
      evalPoints: 0,
      outDir: join(dir, 'run'),
    });
    const { report: trained, trainer } = await runOfflineTraining(config, { backend: 'cpu' });
    trainer.dispose();
    assert.equal(trained.test.rows, n - 4800);
    assert.ok(trained.test.ne < 1, `test NE ${trained.test.ne}`);
  });
});
