import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FeatureSpec } from '../../../schemas/feature-spec';
import { SplitConfig } from '../../../schemas/split';
import { parseTrainConfig } from '../../../schemas/train-config';
import { parseLast, splitHash, timeBounds, timePart, hashPart } from '../../../src/data/split';
import { openSplitSources } from '../../../src/data/split-source';
import { baseRateShift, suggestTimeSplit } from '../../../src/data/inspect-split';
import type { BatchSource } from '../../../src/data/source';
import { ConfigError, DataError } from '../../../src/errors';
import { readTrainConfigFile } from '../../../src/train/config-file';

const dir = mkdtempSync(join(tmpdir(), 'agp-split-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

/** Labels of every row of a source, in order (the label is the row's number here). */
async function rowsOf(source: BatchSource): Promise<number[]> {
  const out: number[] = [];
  for await (const b of source.batches({ batchSize: 7 })) {
    for (let r = 0; r < b.size; r++) out.push(b.dense[r * b.numDense] as number);
  }
  return out;
}

describe('data.split: parsing', () => {
  it('reads durations and shares', () => {
    assert.deepEqual(parseLast('last 1d', 'f'), { ms: DAY });
    assert.deepEqual(parseLast('last 6h', 'f'), { ms: 6 * 3_600_000 });
    assert.deepEqual(parseLast('last 30m', 'f'), { ms: 30 * 60_000 });
    assert.deepEqual(parseLast('last 90s', 'f'), { ms: 90_000 });
    assert.deepEqual(parseLast('last 1.5d', 'f'), { ms: 1.5 * DAY });
    assert.deepEqual(parseLast('last 10%', 'f'), { share: 0.1 });
    assert.match(
      errorOf(() => parseLast('last 1w', 'data.split.test')),
      /^data\.split\.test: /,
    );
    assert.match(
      errorOf(() => parseLast('last 0d', 'f')),
      /empty span/,
    );
    assert.match(
      errorOf(() => parseLast('last 100%', 'f')),
      /no rows to train/,
    );
  });

  it('is strict and names file and field', () => {
    const base = {
      data: { train: { kind: 'csv', path: 'x.csv' } },
    };
    const bad = (split: unknown): string =>
      errorOf(() =>
        parseTrainConfig(
          { ...base, data: { ...base.data, split } },
          'training config c.json',
          'c.json',
        ),
      );
    assert.match(
      bad({ by: 'ts', test: 'last 1d', validaton: 'last 1d' }),
      /c\.json: data\.split\.validaton: unknown field \(did you mean 'validation'\?\)/,
    );
    assert.match(bad({ by: 'ts', test: 'last 1w' }), /c\.json: data\.split\.test: /);
    assert.match(bad({ by: 'ts', test: 0.1 }), /data\.split\.test: a time split takes/);
    assert.match(
      bad({ hash: 'user', test: 'last 1d' }),
      /data\.split\.test: a hash split takes a fraction/,
    );
    assert.match(bad({ hash: 'user', by: 'ts', test: 0.1 }), /data\.split: give either 'by'/);
    assert.match(
      bad({ hash: 'user', test: 0.6, validation: 0.5 }),
      /data\.split\.validation: test \+ validation/,
    );
    assert.match(bad({ by: 'ts', test: { from: 1, too: 2 } }), /data\.split\.test/);
    assert.ok(
      SplitConfig.safeParse({ by: 'ts', test: { from: '2024-01-01', to: '2024-01-02' } }).success,
    );
  });

  it('refuses a split together with data.test, and neither', () => {
    const train = { kind: 'csv', path: 'x.csv' };
    assert.match(
      errorOf(() =>
        parseTrainConfig(
          { data: { train, test: train, split: { hash: 'u', test: 0.1 } } },
          'training config c.json',
          'c.json',
        ),
      ),
      /c\.json: data\.split: give either data\.split or data\.test, not both/,
    );
    assert.match(
      errorOf(() => parseTrainConfig({ data: { train } }, 'training config c.json', 'c.json')),
      /c\.json: data\.test: missing/,
    );
    assert.match(
      errorOf(() =>
        parseTrainConfig({ data: { train, validation: train, split: { hash: 'u', test: 0.1 } } }),
      ),
      /data\.validation: with data\.split/,
    );
  });

  it('a config file with a split has no test source to check and resolves its path', async () => {
    const csv = join(dir, 'cfg.csv');
    writeFileSync(csv, 'label,x,ts\n0,1,2024-01-01T00:00:00Z\n');
    const file = join(dir, 'cfg.json');
    writeFileSync(
      file,
      JSON.stringify({
        data: {
          train: { kind: 'csv', path: 'cfg.csv' },
          split: { by: 'ts', test: 'last 1d' },
          features: { dense: [{ name: 'x' }], sparse: [] },
        },
      }),
    );
    const config = await readTrainConfigFile(file);
    assert.deepEqual((config.data.train as { path: string[] }).path, [csv]);
    assert.equal(config.data.test, undefined);
  });
});

describe('data.split: which part a row is in', () => {
  const time = (test: unknown, validation?: unknown) =>
    SplitConfig.parse({ by: 'ts', test, ...(validation === undefined ? {} : { validation }) });

  it('a row exactly at a boundary is in the later part', () => {
    const b = timeBounds(time('last 1d', 'last 1d'), hourly(10 * DAY));
    assert.deepEqual(b.test, [T0 + 9 * DAY, Infinity]);
    assert.deepEqual(b.validation, [T0 + 8 * DAY, T0 + 9 * DAY]);
    assert.equal(b.trainTo, T0 + 8 * DAY);
    assert.equal(timePart(T0 + 9 * DAY, b), 'test');
    assert.equal(timePart(T0 + 9 * DAY - 1, b), 'validation');
    assert.equal(timePart(T0 + 8 * DAY, b), 'validation');
    assert.equal(timePart(T0 + 8 * DAY - 1, b), 'train');
    assert.equal(timePart(T0 + 10 * DAY, b), 'test', 'the newest row');
  });

  it('shares of the rows, and {from, to} ranges (rows after them in no part)', () => {
    // 241 hourly rows: the newest 10% is 24 rows, from hour 217 on.
    const share = timeBounds(time('last 10%', 'last 10%'), hourly(10 * DAY));
    assert.deepEqual(share.test, [T0 + 217 * HOUR, Infinity]);
    assert.deepEqual(share.validation, [T0 + 193 * HOUR, T0 + 217 * HOUR]);
    // Rows not evenly spread in time: the share is of rows, not of the time span.
    const skewed = Float64Array.from([
      ...Array.from({ length: 90 }, (_, i) => T0 + i * DAY),
      ...Array.from({ length: 10 }, (_, i) => T0 + 90 * DAY + i * HOUR),
    ]);
    assert.deepEqual(timeBounds(time('last 10%'), skewed).test, [T0 + 90 * DAY, Infinity]);
    const fixed = timeBounds(
      time({ from: '2024-01-05', to: '2024-01-06' }, { from: '2024-01-04', to: '2024-01-05' }),
      hourly(10 * DAY),
    );
    assert.deepEqual(fixed.test, [T0 + 4 * DAY, T0 + 5 * DAY]);
    assert.equal(timePart(T0 + 4 * DAY, fixed), 'test');
    assert.equal(timePart(T0 + 5 * DAY, fixed), null, 'after the test range');
    assert.equal(timePart(T0 + 3 * DAY, fixed), 'validation');
    assert.equal(timePart(T0 + 3 * DAY - 1, fixed), 'train');
    // Epoch numbers in the split's unit.
    const epoch = timeBounds(
      SplitConfig.parse({ by: 'ts', unit: 'ms', test: { from: T0 + DAY, to: T0 + 2 * DAY } }),
      hourly(3 * DAY),
    );
    assert.deepEqual(epoch.test, [T0 + DAY, T0 + 2 * DAY]);
  });

  it('refuses overlapping ranges and ranges that leave nothing to train on', () => {
    assert.match(
      errorOf(() =>
        timeBounds(
          time({ from: '2024-01-05', to: '2024-01-07' }, { from: '2024-01-06', to: '2024-01-08' }),
          hourly(10 * DAY),
        ),
      ),
      /data\.split\.validation: overlaps the test range/,
    );
    assert.match(
      errorOf(() => timeBounds(time('last 2d'), hourly(DAY))),
      /data\.split: no rows are left to train on/,
    );
    assert.match(
      errorOf(() => timeBounds(time({ from: '2024-01-05', to: '2024-01-04' }), hourly(9 * DAY))),
      /data\.split\.test: 'from' must be before 'to'/,
    );
  });

  it('the hash is stable across runs and processes, and splits by its share', () => {
    const keys = ['u1', 'u2', 'user-42', 12345, '', 'é✓'];
    const here = keys.map(splitHash);
    // A fresh process computes the same numbers (no per-process seed).
    const script = `const { splitHash } = require(${JSON.stringify(join(process.cwd(), 'src/data/split.ts'))});
      process.stdout.write(JSON.stringify(${JSON.stringify(keys)}.map(splitHash)));`;
    const there = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }),
    ) as number[];
    assert.deepEqual(there, here);
    // Pinned: a change of the hash would move users between train and test of existing configs.
    assert.deepEqual(
      here.map((u) => u.toFixed(6)),
      ['0.142711', '0.044477', '0.485017', '0.442380', '0.668922', '0.039941'],
    );
    assert.equal(splitHash(12345), splitHash('12345'));
    assert.equal(splitHash(null), splitHash(''));
    const n = 20_000;
    let test = 0;
    let validation = 0;
    for (let i = 0; i < n; i++) {
      const p = hashPart(splitHash(`user${i}`), 0.1, 0.15);
      if (p === 'test') test++;
      if (p === 'validation') validation++;
    }
    assert.ok(Math.abs(test / n - 0.1) < 0.01, `test share ${test / n}`);
    assert.ok(Math.abs(validation / n - 0.15) < 0.01, `validation share ${validation / n}`);
  });
});

describe('data.split over a file', () => {
  const spec = FeatureSpec.parse({
    label: 'label',
    dense: [{ name: 'i', transform: 'none' }],
    sparse: [{ name: 'user', buckets: 16 }],
  });

  function writeLog(name: string, rows: number, timeOf: (i: number) => string): string {
    const lines = ['label,i,user,ts'];
    for (let i = 0; i < rows; i++) lines.push(`${i % 2},${i},u${i % 37},${timeOf(i)}`);
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }

  it('a time split: train before validation before test, every row once, boundary rows later', async () => {
    // One row an hour for 10 days, shuffled so position order is not time order.
    const order = Array.from({ length: 240 }, (_, i) => (i * 97) % 240);
    const path = writeLog('time.csv', 240, (i) =>
      new Date(T0 + (order[i] as number) * 3_600_000).toISOString(),
    );
    const parts = openSplitSources(
      { kind: 'csv', path: [path], onInvalid: 'error', offset: 0, delimiter: ',', quote: '"' },
      SplitConfig.parse({ by: 'ts', test: 'last 1d', validation: 'last 1d' }),
      spec,
    );
    assert.ok(parts.validation);
    const hourOf = (i: number): number => order[i] as number;
    const train = (await rowsOf(parts.train)).map(hourOf);
    const validation = (await rowsOf(parts.validation)).map(hourOf);
    const test = (await rowsOf(parts.test)).map(hourOf);
    // The newest row is hour 239; "last 1d" is hours 215..239, the boundary hour 215 in test.
    assert.deepEqual(
      [...test].sort((a, b) => a - b),
      range(215, 240),
    );
    assert.deepEqual(
      [...validation].sort((a, b) => a - b),
      range(191, 215),
    );
    assert.deepEqual(
      [...train].sort((a, b) => a - b),
      range(0, 191),
    );
    assert.match(parts.test.describe(), /split by ts, test last 1d, validation last 1d: test$/);
  });

  it('a hash split keeps each key in one part, the same on a second pass', async () => {
    const path = writeLog('hash.csv', 2000, (i) => String(i));
    const split = SplitConfig.parse({ hash: 'user', test: 0.2, validation: 0.2 });
    const source = {
      kind: 'csv' as const,
      path: [path],
      onInvalid: 'error' as const,
      offset: 0,
      delimiter: ',',
      quote: '"' as const,
    };
    const parts = openSplitSources(source, split, spec);
    const usersOf = async (s: BatchSource): Promise<Set<number>> =>
      new Set((await rowsOf(s)).map((i) => i % 37));
    const train = await usersOf(parts.train);
    const test = await usersOf(parts.test);
    const validation = await usersOf(parts.validation as BatchSource);
    for (const u of test) assert.ok(!train.has(u) && !validation.has(u), `user ${u} in two parts`);
    for (const u of validation) assert.ok(!train.has(u), `user ${u} in two parts`);
    assert.equal(train.size + test.size + validation.size, 37);
    const again = openSplitSources(source, split, spec);
    assert.deepEqual(await usersOf(again.test), test);
  });

  it('a row without a time is an error naming the row, or skipped with onInvalid: skip', async () => {
    const path = writeLog('gaps.csv', 50, (i) =>
      i === 7 ? '' : new Date(T0 + i * DAY).toISOString(),
    );
    const split = SplitConfig.parse({ by: 'ts', test: 'last 10%' });
    const strict = openSplitSources(
      { kind: 'csv', path: [path], onInvalid: 'error', offset: 0, delimiter: ',', quote: '"' },
      split,
      spec,
    );
    await assert.rejects(rowsOf(strict.train), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, /row 8: data\.split\.by: column 'ts' is missing/);
      return true;
    });
    const lenient = openSplitSources(
      { kind: 'csv', path: [path], onInvalid: 'skip', offset: 0, delimiter: ',', quote: '"' },
      split,
      spec,
    );
    const train = await rowsOf(lenient.train);
    assert.equal(train.length + (await rowsOf(lenient.test)).length, 49);
    assert.equal(lenient.train.skipped, 1, 'counted and kept with its reason');
    assert.match(lenient.train.skippedRows?.[0]?.problem ?? '', /column 'ts' is missing/);
  });

  it('refuses a source whose columns have no names', () => {
    assert.match(
      errorOf(() =>
        openSplitSources(
          { kind: 'criteo-tsv', path: ['x.tsv'], onInvalid: 'error', offset: 0 },
          SplitConfig.parse({ hash: 'C1', test: 0.1 }),
          spec,
        ),
      ),
      /data\.split: a 'criteo-tsv' source cannot be split by a column/,
    );
  });
});

describe('agp inspect: the suggested split', () => {
  it('a time split of 10% of the rows each when there is an event time', () => {
    const even = Array.from({ length: 1000 }, (_, i) => T0 + i * 60_000);
    assert.deepEqual(suggestTimeSplit('ts', 's', even).split, {
      by: 'ts',
      unit: 's',
      test: 'last 10%',
      validation: 'last 10%',
    });
    assert.equal(suggestTimeSplit('ts', undefined, [T0, T0, T0]).split, null);
  });

  it('warns of a base rate that shifts over time, not of noise', () => {
    const n = 4000;
    const times = Array.from({ length: n }, (_, i) => T0 + i * 60_000);
    // Shuffled order: the warning goes by time, not by position.
    const order = times.map((_, i) => (i * 1663) % n);
    const flat = order.map((i) => (i % 5 === 0 ? 1 : 0));
    assert.equal(
      baseRateShift(
        order.map((i) => times[i] as number),
        flat,
      ),
      null,
    );
    const rising = order.map((i) => (i % 5 === 0 || (i > 3600 && i % 5 === 1) ? 1 : 0));
    assert.match(
      baseRateShift(
        order.map((i) => times[i] as number),
        rising,
      ) ?? '',
      /base rate shifts over time: 40\.0% positive in the newest 10%.*20\.0% before/,
    );
    assert.equal(baseRateShift([null, null], [1, 0]), null, 'too few rows with a time');
  });

  it('no time split without an event time, and says why (no key to hash)', () => {
    const s = suggestTimeSplit(null, undefined, []);
    assert.equal(s.split, null);
    assert.match(
      s.note,
      /no event time column.*hash split \(data\.split\.hash\) needs a key column/,
    );
  });
});

/** One row an hour from T0 to T0 + `span` (inclusive), as a split source's sorted times. */
function hourly(span: number): Float64Array {
  return Float64Array.from({ length: span / HOUR + 1 }, (_, i) => T0 + i * HOUR);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
