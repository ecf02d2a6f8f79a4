import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DailyConfig } from '../../../schemas/daily-config';
import { FileWindow, relativeMs, TrainingWindow } from '../../../schemas/training-window';
import { windowDates } from '../../../src/data/windows/calendar';
import { resolveFileWindow } from '../../../src/data/windows/resolve-file-window';
import { writeParquet } from '../../../src/data/parquet';
import { openSource } from '../../../src/data/open-source';
import type { RawBatch } from '../../../src/data/raw-batch';
import { readDailyConfig } from '../../../worker/schedule';
import { spec } from '../stream/fixtures';

/** `n` raw rows of the fixtures' spec, with categorical c1 naming the day (to tell them apart). */
function rowsOf(day: string, n: number): RawBatch {
  return {
    size: n,
    labels: Array.from({ length: n }, (_, i) => i % 2),
    dense: [Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, () => 0.5)],
    sparse: [Array.from({ length: n }, () => day), Array.from({ length: n }, (_, i) => `k${i}`)],
  };
}

describe('training windows', () => {
  it('relative times and their validation', () => {
    assert.equal(relativeMs('-7d'), -7 * 86_400_000);
    assert.equal(relativeMs('0d'), 0);
    assert.equal(relativeMs('-90m'), -90 * 60_000);
    const bad = TrainingWindow.safeParse({ kind: 'kafka', topic: 'clicks', from: '-7x' });
    assert.ok(!bad.success);
    assert.deepEqual(bad.error.issues[0]?.path, ['from']);
    const noTrainingPart = TrainingWindow.safeParse({
      kind: 'kafka',
      topic: 'clicks',
      from: '-1h',
      test: '1h',
    });
    assert.ok(!noTrainingPart.success);
  });

  it('a file window needs an explicit time zone and a date token', () => {
    const missingTz = FileWindow.safeParse({ kind: 'parquet', path: 'l/{yyyy-MM-dd}/*', days: 3 });
    assert.ok(!missingTz.success);
    assert.deepEqual(missingTz.error.issues[0]?.path, ['timeZone']);
    const noToken = FileWindow.safeParse({
      kind: 'parquet',
      path: 'logs/*.parquet',
      days: 3,
      timeZone: 'UTC',
    });
    assert.ok(!noToken.success);
  });

  it('window dates are the complete local days before the nominal date, across a DST change', () => {
    // 2026-03-29 02:30 UTC = 04:30 in Berlin, the day clocks go forward.
    const nominal = Date.parse('2026-03-29T02:30:00Z');
    assert.deepEqual(windowDates(nominal, 3, 'Europe/Berlin'), [
      '2026-03-26',
      '2026-03-27',
      '2026-03-28',
    ]);
    // 23:30 UTC on the 28th is already the 29th in Berlin but still the 28th in UTC.
    const late = Date.parse('2026-03-28T23:30:00Z');
    assert.deepEqual(windowDates(late, 1, 'Europe/Berlin'), ['2026-03-28']);
    assert.deepEqual(windowDates(late, 1, 'UTC'), ['2026-03-27']);
  });

  it('a daily config names the field that is wrong', () => {
    const result = DailyConfig.safeParse({
      model: 'm',
      topic: 'clicks',
      train: {
        data: { window: { kind: 'parquet', path: 'x/{yyyy}/*', days: 0, timeZone: 'UTC' } },
      },
    });
    assert.ok(!result.success);
    assert.deepEqual(result.error.issues[0]?.path, ['train', 'data', 'window', 'days']);
  });

  describe('a date=YYYY-MM-DD directory of Parquet files', () => {
    let dir: string;
    const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05'];
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'agp-window-'));
      for (const [i, day] of days.entries()) {
        await mkdir(join(dir, `date=${day}`));
        await writeParquet(join(dir, `date=${day}`, 'part-0.parquet'), [rowsOf(day, 10 + i)], spec);
        await writeParquet(join(dir, `date=${day}`, 'part-1.parquet'), [rowsOf(day, 5)], spec);
        // Not a Parquet file of the partition: the pattern leaves it out.
        await writeFile(join(dir, `date=${day}`, '_SUCCESS'), '');
      }
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    const window = (over: Record<string, unknown> = {}) =>
      FileWindow.parse({
        kind: 'parquet',
        path: join(dir ?? '', 'date={yyyy-MM-dd}', '*.parquet'),
        days: 3,
        timeZone: 'UTC',
        ...over,
      });

    it('picks exactly the partitions of the window, the newest day as the test split', async () => {
      // 03:00 on Nov 5: the window is Nov 2..4; Nov 5 (being written) and Nov 1 are outside.
      const resolved = await resolveFileWindow(window(), Date.parse('2026-11-05T03:00:00Z'));
      assert.equal(resolved.window.kind, 'files');
      if (resolved.window.kind !== 'files') return;
      assert.deepEqual(
        resolved.window.files.map((f) => `${f.date} ${f.split} ${f.path.slice(dir.length + 1)}`),
        [
          '2026-11-02 train date=2026-11-02/part-0.parquet',
          '2026-11-02 train date=2026-11-02/part-1.parquet',
          '2026-11-03 train date=2026-11-03/part-0.parquet',
          '2026-11-03 train date=2026-11-03/part-1.parquet',
          '2026-11-04 test date=2026-11-04/part-0.parquet',
          '2026-11-04 test date=2026-11-04/part-1.parquet',
        ],
      );
      const first = resolved.window.files[0];
      assert.ok(first);
      assert.equal(first.bytes, (await stat(first.path)).size);
      assert.equal(
        first.sha256,
        createHash('sha256')
          .update(await readFile(first.path))
          .digest('hex'),
      );
      // The sources read exactly those days' rows.
      const daysRead = async (source: unknown): Promise<Map<string, number>> => {
        const src = openSource(source as never, spec);
        const seen = new Map<string, number>();
        for await (const raw of src.rawBatches?.({}) ?? []) {
          for (let r = 0; r < raw.size; r++) {
            const day = String(raw.sparse[0]?.[r]);
            seen.set(day, (seen.get(day) ?? 0) + 1);
          }
        }
        return seen;
      };
      assert.deepEqual(
        [...(await daysRead(resolved.train))],
        [
          ['2026-11-02', 16],
          ['2026-11-03', 17],
        ],
      );
      assert.deepEqual([...(await daysRead(resolved.test))], [['2026-11-04', 18]]);
    });

    it('a missing partition is an error naming it, or skipped and counted', async () => {
      // Nov 7 03:00: the window is Nov 4..6, and Nov 6 does not exist.
      const nominal = Date.parse('2026-11-07T03:00:00Z');
      await assert.rejects(resolveFileWindow(window(), nominal), (e: Error) => {
        assert.equal(e.name, 'DataError');
        assert.match(e.message, /at nominal time 2026-11-07T03:00:00\.000Z/);
        assert.match(e.message, /dates 2026-11-04\.\.2026-11-06/);
        assert.match(
          e.message,
          /1 of 3 days missing: 2026-11-06 \(no file matches .*date=2026-11-06/,
        );
        return true;
      });
      // Every missing day is named, not only the first.
      await assert.rejects(
        resolveFileWindow(window({ days: 5, testDays: 1 }), Date.parse('2026-11-08T03:00:00Z')),
        (e: Error) => {
          assert.match(e.message, /2 of 5 days missing: 2026-11-06 .*, 2026-11-07 /);
          return true;
        },
      );
      const skipped = await resolveFileWindow(window({ missing: 'skip' }), nominal).catch(
        (e: Error) => e,
      );
      // Nov 6 was the test day: with it skipped the test split is empty, which is an error too.
      assert.ok(skipped instanceof Error);
      assert.match(skipped.message, /empty window: .* has no test file \(missing: 2026-11-06\)/);
      const resolved = await resolveFileWindow(
        window({ missing: 'skip', days: 4, testDays: 2 }),
        nominal,
      );
      assert.ok(resolved.window.kind === 'files');
      assert.deepEqual(resolved.window.missingDates, ['2026-11-06']);
      assert.deepEqual(
        [...new Set(resolved.window.files.map((f) => `${f.date}:${f.split}`))],
        ['2026-11-03:train', '2026-11-04:train', '2026-11-05:test'],
      );
    });

    it('a window with no partition at all fails naming the window', async () => {
      await assert.rejects(
        resolveFileWindow(window({ missing: 'skip' }), Date.parse('2027-01-01T03:00:00Z')),
        /empty window: parquet window .*date=\{yyyy-MM-dd\}.*3 days in UTC.*2026-12-29\.\.2026-12-31/,
      );
    });
  });
});

describe('npm run schedule -- --config daily.json', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agp-daily-config-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('turns the file into the workflow input: the window apart, the training config as written', async () => {
    const file = join(dir, 'daily.json');
    const window = { kind: 'kafka', topic: 'clicks', from: '-7d', to: '0d', test: '1h' };
    await writeFile(
      file,
      JSON.stringify({
        model: 'ctr',
        topic: 'clicks',
        schedule: { cron: '0 3 * * *', timeZone: 'Europe/Berlin' },
        tolerance: 0.01,
        evalEvents: 2000,
        train: { data: { window, buckets: 4096 }, epochs: 2 },
      }),
    );
    const { config, input } = await readDailyConfig(file);
    assert.equal(config.schedule.overlap, 'BUFFER_ONE');
    assert.equal(config.schedule.catchupWindow, '1 day');
    assert.deepEqual(input.window, window);
    assert.deepEqual(input.trainConfig, { name: 'ctr', data: { buckets: 4096 }, epochs: 2 });
    assert.equal(input.tolerance, 0.01);
    assert.equal(input.evalEvents, 2000);
  });

  it('the example configs are valid', async () => {
    for (const name of ['daily-clicks.json', 'daily-parquet.json', 'daily-files.json']) {
      const { input } = await readDailyConfig(join(__dirname, '..', '..', '..', 'configs', name));
      assert.ok(input.window, name);
    }
  });

  it('an error names the file and the field', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        model: 'ctr',
        topic: 'clicks',
        train: { data: { window: { kind: 'kafka', topic: 'clicks', to: 'tomorrow' } } },
      }),
    );
    await assert.rejects(readDailyConfig(file), (e: Error) => {
      assert.equal(e.name, 'ConfigError');
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, /train\.data\.window\.to: a relative time/);
      return true;
    });
    await writeFile(file, '{ not json');
    await assert.rejects(readDailyConfig(file), new RegExp(`^ConfigError: ${file}: `));
  });

  it('the schedule: an unknown time zone and a 6-field cron are refused naming file and field', async () => {
    const file = join(dir, 'schedule.json');
    const write = (schedule: Record<string, unknown>) =>
      writeFile(
        file,
        JSON.stringify({
          model: 'ctr',
          schedule,
          train: {
            data: {
              window: { kind: 'parquet', path: 'x/{yyyy-MM-dd}/*', days: 3, timeZone: 'UTC' },
            },
          },
        }),
      );
    await write({ cron: '0 3 * * *', timeZone: 'Mars/Base' });
    await assert.rejects(readDailyConfig(file), (e: Error) => {
      assert.equal(e.name, 'ConfigError');
      assert.ok(e.message.includes(file), e.message);
      assert.match(e.message, /schedule\.timeZone: unknown time zone 'Mars\/Base'/);
      return true;
    });
    await write({ cron: '0 0 3 * * *' });
    await assert.rejects(readDailyConfig(file), (e: Error) => {
      assert.match(
        e.message,
        /schedule\.cron: '0 0 3 \* \* \*' has 6 fields; a cron expression has 5/,
      );
      return true;
    });
    await write({ cron: '0 25 * * *' });
    await assert.rejects(readDailyConfig(file), /schedule\.cron: .*hour 25 is out of range 0-23/);
    for (const cron of ['0 3 * * *', '*/15 2-4 1,15 JAN-MAR MON-FRI', '@daily', '30 2 * * 0']) {
      await write({ cron, timeZone: 'Europe/Berlin' });
      const { config } = await readDailyConfig(file);
      assert.equal(config.schedule.cron, cron);
    }
  });

  it('topic is optional: a files-only config has no recurring phase', async () => {
    const file = join(dir, 'files-only.json');
    await writeFile(
      file,
      JSON.stringify({
        model: 'ctr',
        train: {
          data: { window: { kind: 'parquet', path: 'x/{yyyy-MM-dd}/*', days: 3, timeZone: 'UTC' } },
        },
      }),
    );
    const { input } = await readDailyConfig(file);
    assert.equal(input.topic, undefined);
  });
});
