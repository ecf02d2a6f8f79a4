import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelVersion } from '../../../schemas/manifest';
import { ConfigError, DataError } from '../../../src/errors';
import { AnnouncementError } from '../../../src/registry/announcer';
import { openFsRegistry } from '../../../src/registry/fs-store';
import { loadVersion } from '../../../src/registry/load';
import { formatVersion } from '../../../src/registry/version';
import { names, offlineFields, smallFiles, tempRoot } from './helpers';

const v = (n: number): ModelVersion => formatVersion(n);

describe('filesystem registry: publish, get, list', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('publishes versions with checksums, a parent chain and a moving latest', async () => {
    const store = await openFsRegistry({ root });
    assert.equal(await store.latest('ctr'), null);
    const first = await store.publish('ctr', smallFiles('a'), offlineFields(0.8));
    assert.equal(first.version, 'v000001');
    assert.equal(first.parent, null);
    assert.deepEqual(
      first.files.map((f) => [f.path, f.bytes]),
      [
        ['meta.json', 11],
        ['tables/t0.bin', 10],
        ['weights.bin', 4096],
      ],
    );
    assert.equal(await store.latest('ctr'), 'v000001');
    const second = await store.publish('ctr', smallFiles('b'), offlineFields(0.79));
    const third = await store.publish('ctr', smallFiles('c'), offlineFields(0.78));
    assert.equal(second.parent, 'v000001');
    assert.equal(third.parent, 'v000002');
    assert.equal(await store.latest('ctr'), 'v000003');
    assert.equal((await store.get('ctr', 'latest')).metrics['ne'], 0.78);
    // A new lineage (an offline model) is a standby: it does not displace the served chain.
    const standby = await store.publish(
      'ctr',
      smallFiles('d'),
      offlineFields(0.9, { parent: null }),
    );
    assert.equal(standby.parent, null);
    assert.equal(await store.latest('ctr'), 'v000003');

    // The manifest on disk is exactly what publish returned, and the files are where it says.
    const dir = join(root, 'ctr', 'versions', 'v000002');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')), second);
    assert.equal(await readFile(join(dir, 'files', 'meta.json'), 'utf8'), '{"tag":"b"}');
    assert.equal((await readFile(join(root, 'ctr', 'latest'), 'utf8')).trim(), 'v000003');
    const fetched = await store.fetch('ctr', v(2));
    assert.equal(fetched.dir, join(dir, 'files'));
  });

  it('publishes a whole source directory', async () => {
    const store = await openFsRegistry({ root });
    const src = join(root, '..', `${root.split('/').pop() ?? 'x'}-src`);
    await mkdir(join(src, 'nested'), { recursive: true });
    await writeFile(join(src, 'manifest.json'), '{"checkpoint":true}');
    await writeFile(join(src, 'nested', 'dense.bin'), new Uint8Array([1, 2, 3]));
    const m = await store.publish('dirmodel', { sourceDir: src }, offlineFields());
    assert.deepEqual(
      m.files.map((f) => f.path),
      ['manifest.json', 'nested/dense.bin'],
    );
    // The checkpoint's own manifest.json does not collide with the registry's.
    const fetched = await store.fetch('dirmodel', 'latest');
    assert.equal(await readFile(join(fetched.dir, 'manifest.json'), 'utf8'), '{"checkpoint":true}');
    assert.equal(
      (await store.get('dirmodel', 'latest')).version,
      JSON.parse(
        await readFile(join(root, 'dirmodel', 'versions', 'v000001', 'manifest.json'), 'utf8'),
      ).version,
    );
  });

  it('moves a source directory instead of copying it when asked', async () => {
    const store = await openFsRegistry({ root });
    const src = `${root}-move`;
    await mkdir(join(src, 'emb'), { recursive: true });
    await writeFile(join(src, 'dense.bin'), new Uint8Array(1000).fill(3));
    await writeFile(join(src, 'emb', 't0.bin'), 'rows');
    const m = await store.publish('moved', { sourceDir: src, move: true }, offlineFields());
    assert.deepEqual(
      m.files.map((f) => [f.path, f.bytes]),
      [
        ['dense.bin', 1000],
        ['emb/t0.bin', 4],
      ],
    );
    assert.deepEqual(await names(src), []);
    await store.verify('moved', m.version);
    // A publish that fails after the move hands the directory back.
    await mkdir(join(src, 'empty'), { recursive: true });
    await assert.rejects(
      store.publish('moved', { sourceDir: join(src, 'empty'), move: true }, offlineFields()),
      /holds no files/,
    );
    assert.deepEqual(await names(src), ['empty']);
    assert.equal(await store.latest('moved'), 'v000001');
  });

  it('lists every model with its versions, or one model', async () => {
    const store = await openFsRegistry({ root });
    const all = await store.list();
    assert.deepEqual(
      all.map((l) => [l.model, l.latest, l.versions.length]),
      [
        ['ctr', 'v000003', 4],
        ['dirmodel', 'v000001', 1],
        ['moved', 'v000001', 1],
      ],
    );
    const [ctr] = await store.list('ctr');
    assert.deepEqual(
      ctr?.versions.map((s) => [s.version, s.parent, s.latest]),
      [
        ['v000001', null, false],
        ['v000002', 'v000001', false],
        ['v000003', 'v000002', true],
        ['v000004', null, false],
      ],
    );
    assert.equal(ctr?.versions[0]?.bytes, 4096 + 11 + 10);
  });

  it('refuses bad input with errors that say what and where', async () => {
    const store = await openFsRegistry({ root });
    await assert.rejects(
      store.publish('../evil', smallFiles('x'), offlineFields()),
      /invalid model name/,
    );
    await assert.rejects(
      store.publish('ctr', smallFiles('x'), { ...offlineFields(), phase: 'recurring' }),
      (e: unknown) => e instanceof ConfigError && /dataRange\.kind/.test(e.message),
    );
    await assert.rejects(
      store.publish('ctr', { files: [{ path: '../x', data: 'x' }] }, offlineFields()),
      /not a relative file path/,
    );
    await assert.rejects(
      store.publish('ctr', { sourceDir: join(root, 'nope') }, offlineFields()),
      /ENOENT|cannot read/,
    );
    await assert.rejects(store.get('ctr', v(99)), /ctr has no version v000099.*versions: v000001/);
    await assert.rejects(store.list('nope'), /no model 'nope'.*models: ctr, dirmodel, moved/);
    // Nothing above left a version or a staging directory behind.
    assert.equal(await store.latest('ctr'), 'v000003');
    assert.deepEqual(await names(join(root, 'ctr', '.staging')), []);
  });
});

describe('filesystem registry: checksums', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('refuses a version whose file changed, naming the file', async () => {
    const store = await openFsRegistry({ root });
    await store.publish('m', smallFiles('a'), offlineFields());
    await store.verify('m', 'latest');
    const path = join(root, 'm', 'versions', 'v000001', 'files', 'weights.bin');
    const bytes = await readFile(path);
    bytes[100] = (bytes[100] ?? 0) ^ 1; // one flipped bit, same size
    await writeFile(path, bytes);
    const corrupt = (e: unknown): boolean =>
      e instanceof DataError && e.message.includes(path) && /checksum mismatch/.test(e.message);
    await assert.rejects(store.verify('m', v(1)), corrupt);
    await assert.rejects(store.fetch('m', 'latest'), corrupt);
    let loaderCalls = 0;
    const loader = async () => {
      loaderCalls++;
      return { version: v(1), predict: () => new Float32Array(0), dispose: () => undefined };
    };
    await assert.rejects(loadVersion(store, 'm', 'latest', loader), corrupt);
    assert.equal(loaderCalls, 0);
  });

  it('refuses a missing or truncated file and a tampered manifest', async () => {
    const store = await openFsRegistry({ root });
    await store.publish('m', smallFiles('b'), offlineFields());
    const files = join(root, 'm', 'versions', 'v000002', 'files');
    await writeFile(join(files, 'meta.json'), '{"tag":');
    await assert.rejects(
      store.verify('m', v(2)),
      /meta\.json: the manifest says 11 bytes.*has 7 bytes/,
    );
    await store.publish('m', smallFiles('c'), offlineFields());
    const { rm } = await import('node:fs/promises');
    await rm(join(root, 'm', 'versions', 'v000003', 'files', 'tables', 't0.bin'));
    await assert.rejects(store.verify('m', v(3)), /t0\.bin is missing/);
    const manifestPath = join(root, 'm', 'versions', 'v000001', 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 'v000002' }));
    await assert.rejects(store.get('m', v(1)), /names m v000002, not m v000001/);
    await writeFile(manifestPath, '{');
    await assert.rejects(store.get('m', v(1)), (e: unknown) => e instanceof DataError);
  });

  it('loads a verified version through the injected loader', async () => {
    const store = await openFsRegistry({ root });
    const m = await store.publish('ok', smallFiles('z'), offlineFields());
    const predictor = await loadVersion(store, 'ok', 'latest', async (dir, manifest) => {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { tag: string };
      assert.equal(meta.tag, 'z');
      return {
        version: manifest.version,
        predict: (events: readonly number[]) => Float32Array.from(events, (x) => x / 2),
        dispose: () => undefined,
      };
    });
    assert.equal(predictor.version, m.version);
    assert.deepEqual([...predictor.predict([1, 0.5])], [0.5, 0.25]);
  });
});

describe('filesystem registry: retention, promote, rollback', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('keeps the last K versions and every promoted one', async () => {
    const store = await openFsRegistry({ root, keep: 3 });
    for (let i = 1; i <= 2; i++) await store.publish('r', smallFiles(`x${i}`), offlineFields());
    await store.promote('r', v(2), 'best offline model');
    for (let i = 3; i <= 7; i++) await store.publish('r', smallFiles(`x${i}`), offlineFields());
    assert.deepEqual(await names(join(root, 'r', 'versions')), [v(2), v(5), v(6), v(7)]);
    const [listing] = await store.list('r');
    assert.deepEqual(
      listing?.versions.map((s) => [s.version, s.promoted, s.latest]),
      [
        [v(2), true, false],
        [v(5), false, false],
        [v(6), false, false],
        [v(7), false, true],
      ],
    );
    const state = await store.state('r');
    assert.deepEqual(state.promoted, [v(2)]);
    assert.equal(state.history[0]?.reason, 'best offline model');
    await assert.rejects(store.promote('r', v(3)), /has no version v000003/);
    assert.deepEqual(await names(join(root, 'r', '.trash')), []);
  });

  it('rolls latest back to the previous version or a named one, and records why', async () => {
    const store = await openFsRegistry({ root, keep: 3 });
    assert.deepEqual(await store.rollback('r', undefined, 'NE regressed'), {
      from: v(7),
      to: v(6),
    });
    assert.equal(await store.latest('r'), v(6));
    assert.equal((await store.get('r', 'latest')).version, v(6));
    assert.deepEqual(await store.rollback('r', v(2)), { from: v(6), to: v(2) });
    await assert.rejects(store.rollback('r'), /no version older than v000002/);
    const history = (await store.state('r')).history.filter((e) => e.action === 'rollback');
    assert.deepEqual(
      history.map((e) => [e.from, e.version, e.reason]),
      [
        [v(7), v(6), 'NE regressed'],
        [v(6), v(2), undefined],
      ],
    );
    // A new publish moves latest forward again; its parent is the rolled-back-to version.
    const next = await store.publish('r', smallFiles('x8'), offlineFields());
    assert.equal(next.version, v(8));
    assert.equal(next.parent, v(2));
    assert.equal(await store.latest('r'), v(8));
  });

  it('never rolls back to a corrupt version', async () => {
    const store = await openFsRegistry({ root, keep: 3 });
    await writeFile(join(root, 'r', 'versions', v(7), 'files', 'meta.json'), '{"tag":"xx"}');
    await assert.rejects(store.rollback('r', v(7)), /checksum mismatch/);
    assert.equal(await store.latest('r'), v(8));
  });
});

describe('filesystem registry: concurrent publishers', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('gives every concurrent publish its own version and ends with the newest as latest', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => openFsRegistry({ root, keep: 50 })));
    const published = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        stores[i % 3]!.publish('c', smallFiles(`p${i}`), offlineFields(0.7 + i / 100)),
      ),
    );
    const versions = published.map((m) => m.version).sort();
    assert.deepEqual(
      versions,
      Array.from({ length: 12 }, (_, i) => v(i + 1)),
    );
    assert.equal(await stores[0]!.latest('c'), v(12));
    for (const m of published) {
      // Each version holds the files of the publish that claimed it.
      const verified = await stores[1]!.verify('c', m.version);
      assert.deepEqual(verified, m);
    }
    assert.deepEqual(await names(join(root, 'c', '.staging')), []);
  });
});

describe('filesystem registry: announcements', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('a failed announcement says the version is durable, so only the announcement is retried', async () => {
    const failing = {
      announce: async () => {
        throw new Error('broker unreachable');
      },
    };
    const store = await openFsRegistry({ root }, { announcer: failing });
    const error = await store.publish('ann', smallFiles('a'), offlineFields()).then(
      () => assert.fail('publish should have thrown'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AnnouncementError);
    assert.equal(error.retriable, true);
    assert.equal(error.manifest.version, 'v000001');
    await store.verify('ann', 'v000001' as never);
  });
});
