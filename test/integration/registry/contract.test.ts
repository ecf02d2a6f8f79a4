import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { getObject } from '../../../src/registry/s3-client';
import { openS3Registry, type S3RegistryStore } from '../../../src/registry/s3-store';
import { registryContract } from './contract';
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
});
