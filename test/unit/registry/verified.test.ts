import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelVersion } from '../../../schemas/manifest';
import { run } from '../../../src/cli/registry';
import { DataError } from '../../../src/errors';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import {
  failedVersions,
  newestVerifiedAncestor,
  verificationProblem,
} from '../../../src/registry/verified';
import { offlineFields, smallFiles, tempRoot } from './helpers';

/** Flips one byte in the middle of a published file, as a bad disk or a bad copy would. */
async function flipByte(root: string, model: string, version: string, file: string) {
  const handle = await open(join(root, model, 'versions', version, 'files', file), 'r+');
  try {
    const { size } = await handle.stat();
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, Math.floor(size / 2));
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, Math.floor(size / 2));
  } finally {
    await handle.close();
  }
}

describe('versions that fail verification', () => {
  let root: string;
  let dispose: () => Promise<void>;
  let store: FsRegistryStore;
  const v = (n: number) => `v00000${n}` as ModelVersion;

  before(async () => {
    ({ root, dispose } = await tempRoot());
    store = await openFsRegistry({ root });
    // A chain v1 ← v2 ← v3 ← v4; then v3 and v4 are corrupted.
    for (const tag of ['a', 'b', 'c', 'd']) {
      await store.publish('ctr', smallFiles(tag), offlineFields(0.8));
    }
    await flipByte(root, 'ctr', 'v000004', 'weights.bin');
    await flipByte(root, 'ctr', 'v000003', 'tables/t0.bin');
  });
  after(() => dispose());

  it('verificationProblem names the file; a good version has none', async () => {
    assert.equal(await verificationProblem(store, 'ctr', v(2)), null);
    assert.match(
      (await verificationProblem(store, 'ctr', v(4))) ?? '',
      /v000004: checksum mismatch in .*weights\.bin/,
    );
  });

  it('newestVerifiedAncestor walks parents past every version that fails', async () => {
    assert.equal((await store.get('ctr', v(4))).parent, v(3), 'the fixture is a chain');
    const found = await newestVerifiedAncestor(store, 'ctr', v(4));
    assert.equal(found.version, v(2));
    assert.deepEqual(
      found.failed.map((f) => f.version),
      [v(4), v(3)],
    );
    assert.equal((await newestVerifiedAncestor(store, 'ctr', v(2))).failed.length, 0);
  });

  it('newestVerifiedAncestor fails with every problem when nothing on the chain verifies', async () => {
    await flipByte(root, 'ctr', 'v000001', 'weights.bin');
    await flipByte(root, 'ctr', 'v000002', 'weights.bin');
    try {
      await assert.rejects(newestVerifiedAncestor(store, 'ctr', v(4)), (error: unknown) => {
        assert.ok(error instanceof DataError);
        assert.match(error.message, /no version from v000004 back .* verifies/);
        for (const n of [1, 2, 3, 4]) assert.match(error.message, new RegExp(`v00000${n}:`));
        return true;
      });
    } finally {
      await flipByte(root, 'ctr', 'v000001', 'weights.bin');
      await flipByte(root, 'ctr', 'v000002', 'weights.bin');
    }
  });

  it('failedVersions checks every listed version', async () => {
    const failed = await failedVersions(store, await store.list(), 2);
    assert.deepEqual([...failed.keys()].sort(), ['ctr/v000003', 'ctr/v000004']);
  });

  it('agp registry ls marks the corrupt versions, says so on stderr, and --skip-verify does not', async () => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
    assert.equal(await run(['ls', 'ctr', '--root', root], io), 0);
    const rows = out.trim().split('\n');
    assert.match(rows[2] ?? '', /^ctr\s+v000002\s.*[^T]$/, 'v2 is not marked');
    assert.match(rows[3] ?? '', /^ctr\s+v000003\s.*CORRUPT$/);
    assert.match(rows[4] ?? '', /^ctr\s+v000004\s.*latest,CORRUPT$/);
    assert.match(err, /CORRUPT ctr v000004 \(latest: .*rollback.*\): .*checksum mismatch/);
    assert.match(err, /CORRUPT ctr v000003: /);

    out = '';
    assert.equal(await run(['ls', 'ctr', '--json', '--root', root], io), 0);
    const [listing] = JSON.parse(out) as { versions: { version: string; corrupt?: string }[] }[];
    assert.deepEqual(
      listing?.versions.filter((x) => x.corrupt !== undefined).map((x) => x.version),
      ['v000003', 'v000004'],
    );

    out = '';
    err = '';
    assert.equal(await run(['ls', 'ctr', '--skip-verify', '--root', root], io), 0);
    assert.doesNotMatch(out + err, /CORRUPT/);
  });
});
