import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../../src/model/backend';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { findOfflineRun } from '../../../src/pipeline/offline-run';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { tinyTrainConfig } from '../../tiny-train-config';

/** An offline run publishes one version per run id, however many attempts train it. */
describe('offline runs publish once', () => {
  let dir: string;
  let registry: FsRegistryStore;
  const config = tinyTrainConfig('once', { trainRows: 512, testRows: 256 });

  before(async () => {
    await initBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'agp-offline-run-unit-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('finds nothing for a model without versions', async () => {
    assert.equal(await findOfflineRun(registry, 'none-yet', 'wf/run'), null);
  });

  it("returns the first attempt's version to a second attempt instead of publishing again", async () => {
    const attempt = (outDir: string) =>
      runOfflinePhase(registry, 'once', config, { outDir: join(dir, outDir), runId: 'wf/run-1' });
    const first = await attempt('host-a');
    assert.equal(first.publishedEarlier, false);
    assert.equal(first.manifest.runId, 'wf/run-1');
    // Another host's attempt: its own directory, trained from scratch, then the registry check.
    const second = await attempt('host-b');
    assert.equal(second.publishedEarlier, true);
    assert.equal(second.manifest.version, first.manifest.version);
    assert.match(second.summary, /published by an earlier attempt/);

    const other = await runOfflinePhase(registry, 'once', config, {
      outDir: join(dir, 'host-c'),
      runId: 'wf/run-2',
    });
    assert.equal(other.publishedEarlier, false);
    const [listing] = await registry.list('once');
    assert.deepEqual(
      listing?.versions.map((v) => [v.version, v.phase]),
      [
        [first.manifest.version, 'offline'],
        [other.manifest.version, 'offline'],
      ],
    );
    assert.equal(
      (await findOfflineRun(registry, 'once', 'wf/run-1'))?.version,
      first.manifest.version,
    );
    assert.equal(
      (await findOfflineRun(registry, 'once', 'wf/run-2'))?.version,
      other.manifest.version,
    );
    assert.equal(await findOfflineRun(registry, 'once', 'wf/run-3'), null);
  });

  it('publishes nothing when the fence before the publish throws', async () => {
    await assert.rejects(
      runOfflinePhase(registry, 'fenced', config, {
        outDir: join(dir, 'fenced'),
        runId: 'wf/run-f',
        beforePublish: () => Promise.reject(new Error('lost the server')),
      }),
      /lost the server/,
    );
    assert.equal(await registry.latest('fenced'), null);
  });
});
