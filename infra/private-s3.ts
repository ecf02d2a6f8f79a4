import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry, registryLocationFromEnv } from '../src/registry';
import type { RegistryStore } from '../src/registry/store';
import { ensureS3, stopS3, type S3Server } from './s3';

/** A port the kernel just handed out (free now; the server binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A private S3 server and how to stop it. */
export type PrivateS3 = S3Server & { dispose: () => Promise<void> };

/**
 * An S3 server (infra/s3.ts: moto) of the test's (or benchmark's) own, on a private port and data directory, so
 * `npm test` on a fresh machine needs nothing running; `dispose` stops it by pid.
 */
export async function startPrivateS3(): Promise<PrivateS3> {
  const dataDir = await mkdtemp(join(tmpdir(), 'agp-s3-'));
  const server = await ensureS3(dataDir, { port: await freePort(), bucket: 'agp-test' });
  return {
    ...server,
    dispose: async () => {
      await stopS3(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The registry on `s3` as a worker given `s3.env` opens it (under `prefix`, its cache under
 * `dataDir`), with the credentials passed explicitly: the SDK's default chain reads this
 * process's environment, not `s3.env`.
 * @param prefix the key prefix in the bucket. @default 'registry' (what `s3.env` names)
 */
export async function openPrivateS3Registry(
  s3: S3Server,
  dataDir: string,
  prefix = 'registry',
): Promise<RegistryStore> {
  const env = { ...s3.env, AGP_REGISTRY: `s3://${s3.bucket}/${prefix}` };
  const location = registryLocationFromEnv(dataDir, env);
  if (location.kind !== 's3') throw new Error(`not an S3 location: ${env.AGP_REGISTRY}`);
  return openRegistry({ ...location, credentials: s3.credentials });
}
