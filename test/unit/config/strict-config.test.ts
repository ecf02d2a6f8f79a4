import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDailyConfig } from '../../../schemas/daily-config';
import { FeatureSpec } from '../../../schemas/feature-spec';
import { parseTrainConfig } from '../../../schemas/train-config';
import { closestName, formatZodIssues } from '../../../schemas/zod-errors';
import { ConfigError } from '../../../src/errors';
import { readTrainConfigFile } from '../../../src/train/config-file';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Writes `config` (and an empty-ish data file beside it) and returns the config's path. */
async function configFile(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agp-strict-'));
  dirs.push(dir);
  await writeFile(join(dir, 'clicks.csv'), 'click,x\n1,2\n');
  const file = join(dir, 'train.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

/** The lines of the ConfigError that reading `config` as a file throws. */
async function errorLines(config: unknown): Promise<{ file: string; lines: string[] }> {
  const file = await configFile(config);
  let lines: string[] = [];
  await assert.rejects(readTrainConfigFile(file), (e: Error) => {
    assert.ok(e instanceof ConfigError, String(e));
    lines = e.message.split('\n');
    return true;
  });
  return { file, lines };
}

const features = {
  label: 'click',
  dense: [{ name: 'x', transform: 'none' }],
  sparse: [{ name: 'c', buckets: 8 }],
};

describe('strict configs: an unknown key stops the run, naming the file, the path and the closest field', () => {
  it("a source's `limt` (which used to be ignored, training on the test rows)", async () => {
    const { file, lines } = await errorLines({
      data: {
        train: { kind: 'csv', path: 'clicks.csv', limt: 800 },
        test: { kind: 'csv', path: 'clicks.csv', offset: 800 },
        features,
      },
    });
    assert.ok(
      lines.includes(`${file}: data.train.limt: unknown field (did you mean 'limit'?)`),
      lines.join('\n'),
    );
  });

  it("a feature's `transfrom` and the spec's `lable`", async () => {
    const { file, lines } = await errorLines({
      data: {
        train: { kind: 'csv', path: 'clicks.csv' },
        test: { kind: 'csv', path: 'clicks.csv' },
        features: {
          lable: 'click',
          dense: [{ name: 'x', transfrom: 'none' }],
          sparse: [{ name: 'c', buckets: 8 }],
        },
      },
    });
    const text = lines.join('\n');
    assert.ok(
      lines.includes(
        `${file}: data.features.dense.0.transfrom: unknown field (did you mean 'transform'?)`,
      ),
      text,
    );
    assert.ok(
      lines.includes(`${file}: data.features.lable: unknown field (did you mean 'label'?)`),
      text,
    );
  });

  it('`pth` is named as unknown, and the path it should have been as missing', async () => {
    const { file, lines } = await errorLines({
      data: {
        train: { kind: 'csv', pth: 'clicks.csv' },
        test: { kind: 'csv', path: 'clicks.csv' },
        features,
      },
    });
    const text = lines.join('\n');
    assert.ok(
      lines.includes(`${file}: data.train.pth: unknown field (did you mean 'path'?)`),
      text,
    );
    assert.ok(lines.includes(`${file}: data.train.path: missing (a required field)`), text);
  });

  it('every other object: synthetic and movielens sources, data, model, agp, lrSchedule, derive', () => {
    const cases: [unknown, string][] = [
      [
        { train: { kind: 'synthetic', rows: 10, rowz: 3 } },
        "data.train.rowz: unknown field (did you mean 'rows'?)",
      ],
      [
        { test: { kind: 'movielens', dir: '.', spilt: 'test' } },
        "data.test.spilt: unknown field (did you mean 'split'?)",
      ],
      [{ bukets: 10 }, "data.bukets: unknown field (did you mean 'buckets'?)"],
    ];
    for (const [dataPatch, line] of cases) {
      const data = {
        train: { kind: 'synthetic', rows: 10 },
        test: { kind: 'synthetic', rows: 10, split: 'test' },
        ...(dataPatch as object),
      };
      assert.throws(
        () => parseTrainConfig({ data }, 'cfg', 'f.json'),
        (e: Error) => e.message.split('\n').includes(`f.json: ${line}`) || assert.fail(e.message),
      );
    }
    const data = {
      train: { kind: 'synthetic', rows: 10 },
      test: { kind: 'synthetic', rows: 10, split: 'test' },
    };
    const top: [Record<string, unknown>, string][] = [
      [{ agp: { ration: 0.5 } }, "agp.ration: unknown field (did you mean 'ratio'?)"],
      [
        { lrSchedule: { decay: 0.1, decayto: 0 } },
        "lrSchedule.decayto: unknown field (did you mean 'decayTo'?)",
      ],
      [
        { model: { embeddingOptimizer: { knd: 'sgd' } } },
        "model.embeddingOptimizer.knd: unknown field (did you mean 'kind'?)",
      ],
      [{ epoch: 2 }, "epoch: unknown field (did you mean 'epochs'?)"],
      [{ zzzzzz: 2 }, 'zzzzzz: unknown field'],
    ];
    for (const [patch, line] of top) {
      assert.throws(
        () => parseTrainConfig({ data, ...patch }, 'cfg', 'f.json'),
        (e: Error) => e.message.split('\n').includes(`f.json: ${line}`) || assert.fail(e.message),
      );
    }
    const spec = FeatureSpec.safeParse({
      dense: [],
      sparse: [
        { name: 'h', from: 't', derive: { kind: 'hourOfDay', timezone: 'UTC' }, buckets: 24 },
      ],
    });
    assert.ok(!spec.success);
    assert.equal(
      formatZodIssues(spec.error, [], { schema: FeatureSpec }),
      "sparse.0.derive.timezone: unknown field (did you mean 'timeZone'?)",
    );
  });

  it('a daily config names its file on every line', () => {
    assert.throws(
      () =>
        parseDailyConfig(
          {
            model: 'ctr',
            topic: 'clicks',
            schedule: { crn: '0 3 * * *' },
            train: { data: { window: { kind: 'kafka', topc: 'clicks' } } },
          },
          'daily.json',
        ),
      (e: Error) => {
        const lines = e.message.split('\n');
        assert.ok(
          lines.includes("daily.json: schedule.crn: unknown field (did you mean 'cron'?)"),
          e.message,
        );
        assert.ok(
          lines.includes(
            "daily.json: train.data.window.topc: unknown field (did you mean 'topic'?)",
          ),
          e.message,
        );
        return true;
      },
    );
  });

  it('a parsed config parses again unchanged (workflow inputs re-validate what the CLI wrote)', () => {
    const once = parseTrainConfig({
      data: {
        train: { kind: 'csv', path: 'a.csv', limit: 5 },
        test: { kind: 'synthetic', rows: 10, split: 'test' },
        features,
      },
      model: { denseOptimizer: { kind: 'sgd' } },
    });
    assert.deepEqual(parseTrainConfig(JSON.parse(JSON.stringify(once))), once);
  });

  it('suggests only a close name', () => {
    assert.equal(closestName('limt', ['offset', 'limit', 'path']), 'limit');
    assert.equal(closestName('pth', ['offset', 'limit', 'path']), 'path');
    assert.equal(closestName('colour', ['offset', 'limit', 'path']), undefined);
  });
});
