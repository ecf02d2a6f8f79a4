import fs from 'node:fs';
import path from 'node:path';
import { InfraError } from '../src/errors';
import { CACHE_DIR } from './paths';
import { onPath, runCommand } from './process';
import { GHZ_VERSION } from './versions';

/** Where ghz is installed (the cache is keyed by version). */
const GHZ_DIR = path.join(CACHE_DIR, 'ghz', GHZ_VERSION);
const GHZ = path.join(GHZ_DIR, 'ghz');

/**
 * Builds ghz with the Go toolchain (`go install …@GHZ_VERSION`, modules from the Go module
 * proxy) unless it is already in .cache; returns its path. Needs `go` on PATH.
 * @throws InfraError naming what is missing (bench:serve then suggests `--grpc-client grpc-js`).
 */
export async function installGhz(log: (line: string) => void): Promise<string> {
  if (fs.existsSync(GHZ)) return GHZ;
  if (!onPath('go')) {
    throw new InfraError(
      `go not found on PATH: the gRPC load generator ghz ${GHZ_VERSION} is built with it (or use --grpc-client grpc-js)`,
      { retriable: false },
    );
  }
  log(`building ghz ${GHZ_VERSION} into ${GHZ_DIR} (go install, a minute or two the first time)`);
  const tmp = `${GHZ_DIR}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await runCommand('go', ['install', `github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}`], {
      env: {
        ...process.env,
        GOBIN: tmp,
        GOPATH: path.join(CACHE_DIR, 'go'),
        GOFLAGS: '-modcacherw',
      },
      timeoutMs: 15 * 60_000,
    });
    fs.rmSync(GHZ_DIR, { recursive: true, force: true });
    fs.renameSync(tmp, GHZ_DIR);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return GHZ;
}
