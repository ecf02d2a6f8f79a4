import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { FeatureSpec } from '../../../schemas/feature-spec';
import { sampleCsv } from '../../../src/data/file-sample';
import { inspectFile, type InspectReport } from '../../../src/data/inspect';
import { findLeak, uncertaintyCoefficient } from '../../../src/data/label-leak';
import { openSource } from '../../../src/data/open-source';
import { ConfigError, DataError } from '../../../src/errors';
import { trapLogCsv } from './trap-log';

const dir = mkdtempSync(join(tmpdir(), 'agp-inspect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

function column(r: InspectReport, name: string) {
  const c = r.columns.find((x) => x.name === name);
  assert.ok(c, `no column ${name}`);
  return c;
}

/** Every column a suggested spec reads. */
function readColumns(r: InspectReport): Set<string> {
  const spec = FeatureSpec.parse(r.features);
  return new Set([...spec.dense, ...spec.sparse].map((f) => f.from ?? f.name));
}

describe('agp inspect suggests only what is safe, and says why', () => {
  const samplers = { csv: sampleCsv };

  it('flags every planted trap: id, integer-coded id, label-only timestamp, value leak, second timestamp', async () => {
    const path = file('traps.csv', trapLogCsv({ rows: 3000 }));
    const r = await inspectFile(path, samplers);
    assert.equal(r.label?.name, 'click');
    assert.equal(r.eventTime, 'event_time');
    // The log is in event-time order, so position order is time order: the newest rows test.
    assert.deepEqual(r.split, {
      train: { offset: 0, limit: 2400 },
      validation: { offset: 2400, limit: 300 },
      test: { offset: 2700 },
    });

    const id = column(r, 'row_id');
    assert.equal(id.role, 'dropped');
    assert.match(id.reason, /unique per row/);

    const app = column(r, 'app');
    assert.equal(app.role, 'categorical');
    assert.match(app.reason, /an id or a code/);

    const conv = column(r, 'conversion_time');
    assert.equal(conv.role, 'dropped');
    assert.ok(conv.leak);
    assert.match(conv.reason, /likely leak: whether it is null gives the label away/);

    const revenue = column(r, 'revenue');
    assert.equal(revenue.role, 'dropped');
    assert.ok(revenue.leak);
    assert.match(revenue.reason, /likely leak/);

    const updated = column(r, 'updated_at');
    assert.equal(updated.role, 'dropped');
    assert.ok(updated.leak);
    assert.match(updated.reason, /other than the event time 'event_time'/);

    assert.equal(column(r, 'event_time').role, 'event time');
    assert.equal(column(r, 'site').role, 'categorical');
    assert.equal(column(r, 'price').role, 'dense');

    const read = readColumns(r);
    assert.deepEqual([...read].sort(), ['app', 'event_time', 'price', 'site']);
    const spec = FeatureSpec.parse(r.features);
    assert.ok(!spec.dense.some((f) => f.name === 'app'), 'an integer id is never dense');
    const derived = spec.sparse.filter((f) => f.derive !== undefined).map((f) => f.from);
    assert.deepEqual(derived, ['event_time', 'event_time'], 'only the event time is derived');
    for (const trap of ['conversion_time', 'revenue', 'updated_at']) {
      assert.ok(
        r.warnings.some((w) => w.startsWith(`'${trap}' left out`)),
        `${trap} warned: ${r.warnings.join('; ')}`,
      );
    }
  });

  it('--time picks the event time; the other timestamp is then the one left out', async () => {
    const path = file('traps-time.csv', trapLogCsv({ rows: 1500, seed: 3 }));
    const r = await inspectFile(path, samplers, { time: 'updated_at' });
    assert.equal(r.eventTime, 'updated_at');
    assert.equal(r.split, null);
    assert.match(r.splitNote, /not in 'updated_at' order/);
    assert.equal(column(r, 'updated_at').role, 'event time');
    assert.equal(column(r, 'event_time').role, 'dropped');
    assert.match(column(r, 'event_time').reason, /other than the event time 'updated_at'/);
    await assert.rejects(inspectFile(path, samplers, { time: 'nope' }), ConfigError);
    await assert.rejects(
      inspectFile(path, samplers, { time: 'price' }),
      /--time: column 'price' does not hold timestamps/,
    );
  });

  it('a yes/no label is warned about and mapped with label.positive, which the readers apply', async () => {
    const path = file('yes-no.csv', trapLogCsv({ rows: 1500, labelCoding: 'yes-no' }));
    const r = await inspectFile(path, samplers, { label: 'click' });
    assert.deepEqual(r.label?.positive, ['yes']);
    assert.ok(r.label !== null && r.label.rate > 0.1 && r.label.rate < 0.9, String(r.label?.rate));
    assert.ok(
      r.warnings.some((w) => /label 'click' is not 0\/1/.test(w)),
      r.warnings.join('; '),
    );
    assert.deepEqual(r.features?.label, { column: 'click', positive: ['yes'] });
    // The leaks are still found through the mapped label.
    assert.ok(column(r, 'conversion_time').leak);

    const spec = FeatureSpec.parse(r.features);
    assert.equal(spec.label, 'click');
    assert.deepEqual(spec.labelPositive, ['yes']);
    assert.deepEqual(FeatureSpec.parse(JSON.parse(JSON.stringify(spec))), spec, 'reparses');
    const source = openSource({ kind: 'csv', path, limit: 200 }, spec);
    let pos = 0;
    let n = 0;
    for await (const b of source.batches({ batchSize: 64 })) {
      for (const y of b.labels) {
        assert.ok(y === 0 || y === 1);
        pos += y;
        n++;
      }
    }
    assert.equal(n, 200);
    assert.ok(pos > 0 && pos < n);
    // Without the mapping the reader names the fix.
    const plain = FeatureSpec.parse({ ...r.features, label: 'click' });
    await assert.rejects(
      (async () => {
        for await (const _ of openSource({ kind: 'csv', path }, plain).batches({ batchSize: 8 }));
      })(),
      /label must be 0 or 1, got 'no' \(a label coded otherwise needs "label": \{"column"/,
    );
  });

  it('reads a gzip file by its first bytes whatever its name; refuses zstd with a clear error', async () => {
    const text = trapLogCsv({ rows: 300 });
    const path = file('named-plain.csv', gzipSync(text));
    const r = await inspectFile(path, samplers);
    assert.equal(r.label?.name, 'click');
    assert.equal(r.rows, 300);
    const spec = FeatureSpec.parse(r.features);
    let n = 0;
    for await (const b of openSource({ kind: 'csv', path }, spec).batches({ batchSize: 100 })) {
      n += b.size;
    }
    assert.equal(n, 300);
    // A zstd frame's magic number, then anything: Node 20's zlib cannot read zstd.
    const z = file(
      'z.csv',
      Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from(text)]),
    );
    await assert.rejects(inspectFile(z, samplers), (e: Error) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, /z\.csv: the file is zstd-compressed; only gzip is read/);
      return true;
    });
  });

  it('measures how much a column explains the label', () => {
    assert.equal(
      uncertaintyCoefficient([
        { n: 50, pos: 50 },
        { n: 50, pos: 0 },
      ]),
      1,
    );
    assert.ok(
      Math.abs(
        uncertaintyCoefficient([
          { n: 50, pos: 10 },
          { n: 50, pos: 10 },
        ]),
      ) < 1e-12,
    );
    // An id seen once per row explains nothing: its values are pooled as rare.
    const labels = Array.from({ length: 400 }, (_, i) => i % 2);
    assert.equal(
      findLeak(
        labels,
        labels.map(() => false),
        (i) => `id${i}`,
      ),
      null,
    );
  });
});
