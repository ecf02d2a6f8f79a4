import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseTrainConfig } from '../../../schemas/train-config';
import { InvalidRowPolicy, KEPT_SKIP_REASONS } from '../../../src/data/source';
import { ConfigError } from '../../../src/errors';
import { readTrainConfigFile } from '../../../src/train/config-file';
import { dryRun } from '../../../src/train/dry-run';
import { runOfflineTraining } from '../../../src/train/offline';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'agp-config-'));
  dirs.push(d);
  return d;
}

const repo = resolve(__dirname, '..', '..', '..');
const spec = {
  dense: [{ name: 'x', transform: 'none' }],
  sparse: [{ name: 'c', buckets: 10 }],
};
/** Label, one dense, one categorical; a header row and one bad value among 300 rows. */
function tsvWithJunk(): string {
  const rows = ['label\tx\tc'];
  for (let i = 0; i < 300; i++) rows.push(`${i % 3 === 0 ? 1 : 0}\t${i % 7}\tv${i % 5}`);
  rows[101] = '1\tnot-a-number\tv1';
  return rows.join('\n') + '\n';
}

describe('training config errors name the file and the field', () => {
  it('rejects an unknown or mistyped model field before training', async () => {
    const dir = await tmp();
    const file = join(dir, 'train.json');
    await writeFile(
      file,
      JSON.stringify({
        data: {
          train: { kind: 'synthetic', rows: 100 },
          test: { kind: 'synthetic', rows: 100, split: 'test' },
        },
        model: { bottm: [64, 16], top: 'wide', denseOptimizer: { kind: 'adam', lrr: 1 } },
      }),
    );
    await assert.rejects(readTrainConfigFile(file), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, new RegExp(`training config ${file}`));
      const lines = e.message.split('\n');
      assert.ok(
        lines.includes(`${file}: model.bottm: unknown field (did you mean 'bottom'?)`),
        e.message,
      );
      assert.ok(
        lines.some((l) => l.startsWith(`${file}: model.top: `)),
        e.message,
      );
      assert.ok(
        lines.includes(`${file}: model.denseOptimizer.lrr: unknown field (did you mean 'lr'?)`),
        e.message,
      );
      return true;
    });
  });

  it('names a missing config file, a missing data file and the field that names it', async () => {
    const dir = await tmp();
    await assert.rejects(readTrainConfigFile(join(dir, 'nope.json')), /nope\.json: no such file/);
    const file = join(dir, 'train.json');
    await writeFile(
      file,
      JSON.stringify({
        data: {
          train: { kind: 'criteo-tsv', path: ['rows.tsv', 'missing.tsv'] },
          test: { kind: 'criteo-tsv', path: 'rows.tsv' },
        },
      }),
    );
    await writeFile(join(dir, 'rows.tsv'), tsvWithJunk());
    await assert.rejects(readTrainConfigFile(file), (e: Error) => {
      assert.equal(
        e.message,
        `${join(dir, 'missing.tsv')}: no such file (data.train.path[1] in ${file})`,
      );
      return true;
    });
  });

  it('resolves relative data paths and outDir against the config file, not the working directory', async () => {
    const dir = await tmp();
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'rows.tsv'), tsvWithJunk());
    const file = join(dir, 'train.json');
    await writeFile(
      file,
      JSON.stringify({
        data: {
          train: { kind: 'criteo-tsv', path: 'data/rows.tsv', onInvalid: 'skip', limit: 200 },
          test: { kind: 'criteo-tsv', path: './data/rows.tsv', onInvalid: 'skip', offset: 200 },
          features: spec,
        },
        outDir: 'runs/one',
      }),
    );
    assert.notEqual(process.cwd(), dir);
    const config = await readTrainConfigFile(file);
    assert.deepEqual('path' in config.data.train ? config.data.train.path : [], [
      join(dir, 'data', 'rows.tsv'),
    ]);
    assert.equal(config.outDir, join(dir, 'runs', 'one'));
  });
});

describe('skipped rows are reported', () => {
  it('keeps the first reasons and counts the rest', () => {
    const policy = new InvalidRowPolicy('skip');
    for (let i = 1; i <= KEPT_SKIP_REASONS + 5; i++) policy.reject(`f.tsv:${i}`, 'bad');
    assert.equal(policy.skipped, KEPT_SKIP_REASONS + 5);
    assert.equal(policy.reasons.length, KEPT_SKIP_REASONS);
    assert.deepEqual(policy.reasons[0], { where: 'f.tsv:1', problem: 'bad' });
  });

  it('a run reports the header row and the bad row it skipped, in report.json', async () => {
    const dir = await tmp();
    const path = join(dir, 'rows.tsv');
    await writeFile(path, tsvWithJunk());
    const config = parseTrainConfig({
      data: {
        train: { kind: 'criteo-tsv', path, onInvalid: 'skip', limit: 200 },
        test: { kind: 'criteo-tsv', path, onInvalid: 'skip', offset: 200 },
        features: spec,
      },
      model: { bottom: [8, 16], top: [8, 1], batchSize: 50 },
      agp: { schedule: 'dense' },
      evalPoints: 0,
      outDir: join(dir, 'run'),
    });
    const { report, trainer } = await runOfflineTraining(config);
    trainer.dispose();
    const onDisk = JSON.parse(await readFile(join(dir, 'run', 'report.json'), 'utf8'));
    for (const r of [report, onDisk]) {
      assert.equal(r.invalidRows.train.skipped, 2);
      assert.match(r.invalidRows.train.first[0].where, /rows\.tsv.*\b1\b/);
      assert.match(r.invalidRows.train.first[1].where, /rows\.tsv.*\b102\b/);
      assert.match(r.invalidRows.train.first[1].problem, /not a number: 'not-a-number'/);
      assert.equal(r.invalidRows.test.skipped, 0);
    }
    const found = await dryRun(config, { rows: 150 });
    assert.equal(found.sources[0]?.rowsRead, 150);
    assert.equal(found.sources[0]?.skipped, 2);
  });
});

describe('agp train --dry-run', { timeout: 60_000 }, () => {
  it('exits 0 on a valid config without training, 1 naming the field on a bad one', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'rows.tsv'), tsvWithJunk());
    const good = join(dir, 'good.json');
    const data = {
      train: { kind: 'criteo-tsv', path: 'rows.tsv', onInvalid: 'skip', limit: 200 },
      test: { kind: 'criteo-tsv', path: 'rows.tsv', onInvalid: 'skip', offset: 200 },
      features: spec,
    };
    await writeFile(good, JSON.stringify({ data, outDir: 'run' }));
    const agp = (config: string) =>
      spawnSync(
        process.execPath,
        [join(repo, 'bin', 'agp.js'), 'train', '--config', config, '--dry-run', '--rows', '120'],
        {
          cwd: tmpdir(),
          encoding: 'utf8',
        },
      );
    const ok = agp(good);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^train: .*read 120 rows .*skipped 2$/m);
    assert.match(ok.stdout, /rows\.tsv:1: .*label must be 0 or 1/);
    assert.match(ok.stdout, /rows\.tsv.*102.*not a number/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ data, model: { bottm: [64, 16] } }));
    const no = agp(bad);
    assert.equal(no.status, 1);
    assert.match(
      no.stderr,
      /^agp: invalid training config .*bad\.json:\n.*bad\.json: model\.bottm: unknown field \(did you mean 'bottom'\?\)/,
    );
  });
});

describe('dryRun refuses a source with no rows', () => {
  it('a header-only CSV fails the dry run instead of the training after it', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'head.csv'), 'click,x,c\n');
    await writeFile(join(dir, 'rows.csv'), 'click,x,c\n1,2,a\n0,3,b\n');
    const file = join(dir, 'train.json');
    await writeFile(
      file,
      JSON.stringify({
        data: {
          train: { kind: 'csv', path: 'rows.csv' },
          test: { kind: 'csv', path: 'head.csv' },
          features: { label: 'click', ...spec },
        },
      }),
    );
    const config = await readTrainConfigFile(file);
    await assert.rejects(dryRun(config, { rows: 10 }), (e: Error) => {
      assert.match(
        e.message,
        /^data\.test: .*head\.csv.*: no rows \(an empty file, a header-only CSV/,
      );
      return true;
    });
  });
});

describe('train and test may not read the same rows', () => {
  it("refuses a train source that reads into the test's rows (a misspelt limit)", async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'rows.csv'), 'click,x,c\n1,2,a\n0,3,b\n');
    const file = join(dir, 'train.json');
    const write = (train: object, test: object) =>
      writeFile(
        file,
        JSON.stringify({
          data: { train, test, features: { label: 'click', ...spec } },
        }),
      );
    await write(
      { kind: 'csv', path: 'rows.csv', offset: 0 },
      { kind: 'csv', path: './rows.csv', offset: 1 },
    );
    await assert.rejects(readTrainConfigFile(file), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /data\.train and data\.test read the same rows of .*rows\.csv \(train records 0\.\.end, test records 1\.\.end\)/,
      );
      return true;
    });
    await write(
      { kind: 'csv', path: 'rows.csv', limit: 1 },
      { kind: 'csv', path: 'rows.csv', offset: 1 },
    );
    await readTrainConfigFile(file);
  });
});
