import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CandidateJudgement } from '../../../schemas/manifest';
import { run } from '../../../src/cli/registry';
import { findDailyVersion } from '../../../src/pipeline/daily-version';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { offlineFields, smallFiles, tempRoot } from './helpers';

/** Runs `agp registry …` in-process, capturing what it prints. */
async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await run(argv, { out: (t) => (out += t), err: () => undefined });
  return { code, out };
}

const sha = 'a'.repeat(64);

/** A file window resolved at `nominalTime`: 06-01, 06-02 train, 06-03 test, 06-02 missing. */
const windowAt = (nominalTime: string) => ({
  kind: 'files' as const,
  format: 'parquet' as const,
  template: '/logs/date={yyyy-MM-dd}/*.parquet',
  timeZone: 'UTC',
  nominalTime,
  fromDate: '2025-06-01',
  toDate: '2025-06-03',
  files: [
    {
      path: '/logs/date=2025-06-01/part-0.parquet',
      date: '2025-06-01',
      split: 'train' as const,
      bytes: 10,
      sha256: sha,
    },
    {
      path: '/logs/date=2025-06-03/part-0.parquet',
      date: '2025-06-03',
      split: 'test' as const,
      bytes: 12,
      sha256: sha,
    },
  ],
  missingDates: ['2025-06-02'],
});

/**
 * How the registry keeps daily candidates: one that failed its judgement is published held
 * (listed, verifiable, never latest) with the judgement in its manifest; one per nominal time.
 */
describe('daily candidates in the registry', () => {
  let root: string;
  let dispose: () => Promise<void>;
  let store: FsRegistryStore;
  before(async () => {
    ({ root, dispose } = await tempRoot());
    store = await openFsRegistry({ root });
  });
  after(() => dispose());

  it('a failed candidate is held: latest stays, ls marks it, show prints window and judgement', async () => {
    const first = await store.publish('ctr', smallFiles('a'), {
      ...offlineFields(0.8),
      window: windowAt('2025-06-04T03:00:00.000Z'),
    });
    const judgement: CandidateJudgement = {
      passed: false,
      comparedWith: first.version,
      on: 'test day 2025-06-03 (800 rows)',
      rows: 800,
      candidateNe: 1.01,
      servedNe: 0.77,
      diffStdErr: 0.018,
      tolerance: 0.1,
      reason: `failed: worse than ${first.version}, NE 1.01000 vs 0.77000`,
    };
    const worse = await store.publish('ctr', smallFiles('b'), {
      ...offlineFields(1.01),
      window: windowAt('2025-06-05T03:00:00.000Z'),
      judgement,
      gate: { held: true, reasons: [judgement.reason], comparedWith: first.version },
    });
    assert.equal(await store.latest('ctr'), first.version);
    await store.verify('ctr', worse.version);

    const ls = await cli(['ls', 'ctr', '--root', root]);
    assert.match(ls.out, new RegExp(`${worse.version}\\s.*held\\(candidate-failed\\)$`, 'm'));
    assert.match(ls.out, new RegExp(`${first.version}\\s.*latest$`, 'm'));

    const show = await cli(['show', 'ctr', worse.version, '--root', root]);
    assert.match(show.out, /data {7}the files window below, \d+ rows/);
    assert.match(
      show.out,
      /window {5}parquet 2025-06-01\.\.2025-06-03 \(UTC\), nominal time 2025-06-05T03:00:00\.000Z/,
    );
    assert.match(show.out, /train 2025-06-01 · test 2025-06-03 · missing 2025-06-02/);
    assert.match(show.out, /2025-06-01 train date=2025-06-01\/part-0\.parquet {2}10 B/);
    assert.match(show.out, /2025-06-03 test {2}date=2025-06-03\/part-0\.parquet {2}12 B/);
    assert.match(
      show.out,
      new RegExp(`judged {5}failed vs ${first.version} on test day 2025-06-03`),
    );
  });

  it('findDailyVersion finds the version of a nominal time, and none for another', async () => {
    const found = await findDailyVersion(store, 'ctr', '2025-06-05T03:00:00Z');
    assert.equal(found?.manifest.version, 'v000002');
    assert.equal(found?.held, true);
    assert.equal(found?.latest, false);
    assert.equal((await findDailyVersion(store, 'ctr', '2025-06-04T03:00:00.000Z'))?.latest, true);
    assert.equal(await findDailyVersion(store, 'ctr', '2025-06-06T03:00:00Z'), null);
    assert.equal(await findDailyVersion(store, 'no-such-model', '2025-06-06T03:00:00Z'), null);
  });
});
