import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  publishStagingDir,
  publishStagingRoot,
  sweepPublishStaging,
} from '../../../src/pipeline/publish-staging';

const HOUR = 3600_000;
const DEAD = 999_001;
const LIVE = 999_002;
const alive = (pid: number): boolean => pid === LIVE || pid === process.pid;

describe('publish staging under the data directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agp-staging-unit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('names a staging directory for its host, pid and model under <data>/staging', () => {
    const root = publishStagingRoot('/data');
    assert.equal(root, '/data/staging');
    const name = publishStagingDir(root, 'ctr-a', 3).slice(root.length + 1);
    assert.match(name, new RegExp(`^${hostname()}~${process.pid}~ctr-a~\\d+~3$`));
  });

  it("removes a dead process's entries and stale ones, keeps live and recent ones", async () => {
    const root = join(dir, 'sweep');
    const now = Date.now();
    const host = hostname();
    const entries = {
      deadPid: `${host}~${DEAD}~m~${now}~0`,
      deadPidCheckpointTmp: `.${host}~${DEAD}~m~${now}~1.tmp-${DEAD}-${now}`,
      livePid: `${host}~${LIVE}~m~${now}~0`,
      ownPid: `${host}~${process.pid}~m~${now}~0`,
      livePidStale: `${host}~${LIVE}~m~${now - 2 * HOUR}~0`,
      otherHostDeadPid: `elsewhere~${DEAD}~m~${now}~0`,
      otherHostStale: `elsewhere~${DEAD}~m~${now - 2 * HOUR}~0`,
      unknownRecent: 'agp-m-123-456-0',
      unknownOld: 'agp-m-123-456-1',
    };
    for (const name of Object.values(entries)) await mkdir(join(root, name), { recursive: true });
    const old = new Date(now - 2 * HOUR);
    await utimes(join(root, entries.unknownOld), old, old);

    const removed = await sweepPublishStaging(root, { alive, staleAfterMs: HOUR, now: () => now });

    assert.deepEqual(
      removed.sort(),
      [
        entries.deadPid,
        entries.deadPidCheckpointTmp,
        entries.livePidStale,
        entries.otherHostStale,
        entries.unknownOld,
      ].sort(),
    );
    assert.deepEqual(
      (await readdir(root)).sort(),
      [entries.livePid, entries.ownPid, entries.otherHostDeadPid, entries.unknownRecent].sort(),
    );
  });

  it('sweeps a data directory that has no staging yet', async () => {
    assert.deepEqual(await sweepPublishStaging(join(dir, 'missing')), []);
  });
});
