import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureS3, stopS3, type S3Server } from '../../../infra/s3';

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

/**
 * An S3 server (infra/s3.ts: moto) of the test's own, on a private port and data directory, so
 * `npm test` on a fresh machine needs nothing running; `dispose` stops it by pid.
 */
export async function startPrivateS3(): Promise<S3Server & { dispose: () => Promise<void> }> {
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
