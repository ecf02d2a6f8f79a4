import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { SIGNATURE } from '../../../src/export/inference-graph';
import { SERVE_TAG } from '../../../src/export/savedmodel';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { createScoringService, type ScoringService } from '../../../src/serve/scoring-service';
import { instance, publishModel, spec } from './helpers';
import { onlyOutput, savedModelLoader, type LoadSavedModel } from '../../tf-saved-model';

/**
 * `agp serve --export-dir` (issue 14 item 4): the export directory follows what the service
 * serves — a new version appears as DIR/<model>/<n>/ and the others go (TF Serving serves the
 * highest number), a rollback too — and the SavedModel there predicts what the service answers.
 */

async function until(ok: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

void describe('agp serve --export-dir', () => {
  let root: string;
  let store: FsRegistryStore;
  let service: ScoringService | undefined;
  let loadSavedModel: LoadSavedModel | null = null;

  before(async () => {
    loadSavedModel = await savedModelLoader();
    root = await mkdtemp(join(tmpdir(), 'agp-export-dir-'));
    store = await openFsRegistry({ root: join(root, 'registry') });
  });

  after(async () => {
    await service?.close();
    await rm(root, { recursive: true, force: true });
  });

  void it('keeps <dir>/<model>/ at the served version, through a new version and a rollback', async (t) => {
    if (loadSavedModel === null) return t.skip('@tensorflow/tfjs-node is not installed');
    const exportDir = join(root, 'export');
    const v1 = await publishModel(store, 'ctr', 1);
    const lines: string[] = [];
    service = await createScoringService({
      store,
      models: [{ model: 'ctr', policy: { kind: 'latest' } }],
      pollMs: 100,
      exportDir,
      log: (line) => lines.push(line),
    });
    const url = await service.listen(0);
    const versions = async (): Promise<string[]> =>
      (await readdir(join(exportDir, 'ctr')).catch(() => [] as string[])).filter((n) =>
        /^\d+$/.test(n),
      );
    await until(() => service?.slots.get('ctr')?.current?.version === v1.version, 10_000, 'v1');
    await service.exportsIdle();
    assert.deepEqual(await versions(), ['1'], lines.join('\n'));

    // The export predicts what the service answers for the same instances.
    const instances = Array.from({ length: 16 }, (_, i) => instance(i));
    const res = await fetch(`${url}/v1/models/ctr:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    });
    const served = ((await res.json()) as { predictions: number[] }).predictions;
    const model = await loadSavedModel(join(exportDir, 'ctr', '1'), [SERVE_TAG], SIGNATURE.key);
    const dense = instances.flatMap((x) => spec.dense.map((f) => x.dense[f.name] ?? 0));
    const sparse = instances.flatMap((x) =>
      spec.sparse.map((f) => (x.sparse[f.name] === null ? '' : String(x.sparse[f.name]))),
    );
    const raw = model.predict({
      [SIGNATURE.dense]: tf.tensor2d(dense, [16, spec.dense.length]),
      [SIGNATURE.sparse]: tf.tensor2d(sparse, [16, spec.sparse.length], 'string'),
    });
    const out = onlyOutput(raw);
    const got = await out.data();
    served.forEach((p, i) => assert.ok(Math.abs(p - (got[i] as number)) <= 1e-5, `instance ${i}`));
    out.dispose();
    model.dispose();

    const v2 = await publishModel(store, 'ctr', 2);
    await until(() => service?.slots.get('ctr')?.current?.version === v2.version, 10_000, 'v2');
    await service.exportsIdle();
    assert.deepEqual(await versions(), ['2']);

    await store.rollback('ctr', undefined, 'test');
    await until(
      () => service?.slots.get('ctr')?.current?.version === v1.version,
      10_000,
      'rollback',
    );
    await service.exportsIdle();
    assert.deepEqual(await versions(), ['1']);
    assert.ok(existsSync(join(exportDir, 'ctr', '1', 'assets.extra', 'agp-manifest.json')));
    assert.ok(
      lines.some((l) => /exported v000002 to /.test(l)),
      lines.join('\n'),
    );
  });
});
