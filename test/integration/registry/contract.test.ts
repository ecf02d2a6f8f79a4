import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { getObject, listKeys } from '../../../src/registry/s3-client';
import { openS3Registry, type S3RegistryStore } from '../../../src/registry/s3-store';
import { offlineFields, smallFiles } from '../../unit/registry/helpers';
import { recurring, registryContract } from './contract';
import { startPrivateS3 } from '../../../infra/private-s3';

describe('registry contract: filesystem store', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'agp-contract-fs-'));
  });
  after(() => rm(root, { recursive: true, force: true }));
  registryContract({
    open: ({ faults, keep } = {}) =>
      openFsRegistry({ root, ...(keep ? { keep } : {}) }, faults ? { faults } : {}),
    corrupt: async (store, model, version, path) => {
      const fs = store as FsRegistryStore;
      await writeFile(join(fs.root, model, 'versions', version, 'files', path), 'rotten');
    },
  });
});

describe('registry contract: S3 store against a real S3 server (infra/s3.ts)', () => {
  let server: Awaited<ReturnType<typeof startPrivateS3>>;
  let cacheDir: string;
  let client: S3Client;
  before(async () => {
    server = await startPrivateS3();
    cacheDir = await mkdtemp(join(tmpdir(), 'agp-contract-s3-cache-'));
    client = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: server.credentials,
    });
  });
  after(async () => {
    client.destroy();
    await server.dispose();
    await rm(cacheDir, { recursive: true, force: true });
  });
  registryContract({
    open: ({ faults, keep } = {}) =>
      openS3Registry(
        {
          bucket: server.bucket,
          prefix: 'contract',
          endpoint: server.endpoint,
          region: server.region,
          credentials: server.credentials,
          cacheDir,
          ...(keep ? { keep } : {}),
        },
        { client, ...(faults ? { faults } : {}) },
      ),
    corrupt: async (store, model, version, path) => {
      const s3 = store as S3RegistryStore;
      const got = await getObject(client, s3.bucket, s3.key(model, 'ref.json'));
      const ref = JSON.parse(Buffer.from(got?.body ?? []).toString('utf8')) as {
        versions: { version: string; upload: string }[];
      };
      const upload = ref.versions.find((e) => e.version === version)!.upload;
      await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: s3.key(model, `uploads/${upload}/${path}`),
          Body: 'rotten',
        }),
      );
    },
  });

  it('sweeps what a killed publish left (its upload and claimed manifest) once old, nothing else', async () => {
    const open = (faults?: (at: string) => void) =>
      openS3Registry(
        {
          bucket: server.bucket,
          prefix: 'sweep',
          endpoint: server.endpoint,
          region: server.region,
          credentials: server.credentials,
          cacheDir,
        },
        { client, ...(faults ? { faults } : {}) },
      );
    const store = await open();
    const model = `sweep-${process.pid}`;
    const base = await store.publish(model, smallFiles('base'), offlineFields());
    const keysOf = async (): Promise<string[]> =>
      (await listKeys(client, store.bucket, store.key(model, ''))).sort();
    const committed = await keysOf();
    // A crash after the manifest was claimed and before the ref named it: the process is gone,
    // so nothing cleans up (as a SIGKILL).
    const dying = await open((at) => {
      if (at === 'manifest-written') throw new Error(`simulated crash at ${at}`);
    });
    await assert.rejects(
      dying.publish(model, smallFiles('lost'), recurring(base.version, 0, 10)),
      /simulated crash/,
    );
    const orphans = (await keysOf()).filter((k) => !committed.includes(k));
    assert.ok(
      orphans.some((k) => k.includes('/uploads/')),
      orphans.join(', '),
    );
    assert.ok(
      orphans.some((k) => k.endsWith('/manifest.json')),
      orphans.join(', '),
    );
    // Young leftovers could be a publish under way: kept.
    assert.equal(await store.sweepOrphans(model), 0);
    assert.equal(await store.sweepOrphans(model, 0), orphans.length);
    assert.deepEqual(await keysOf(), committed);
    await store.verify(model, base.version);
    const next = await store.publish(model, smallFiles('next'), recurring(base.version, 0, 10));
    assert.equal(await store.latest(model), next.version);
    assert.equal(await store.sweepOrphans(model, 0), 0);
  });
});
