import fs from 'node:fs';
import path from 'node:path';
import { InfraError } from '../src/errors';
import { sleep } from './process';

/**
 * Runs `body` while holding a lock directory, so two `infra:up` (or a test run and an
 * `infra:down`) in the same data directory never race. A lock left by a dead process is taken
 * over; `mkdir` is atomic, which makes it the lock primitive that needs no native module.
 */
export async function withLock<T>(lockDir: string, body: () => Promise<T>, waitMs = 10 * 60_000) {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const ownerFile = path.join(lockDir, 'owner');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readOr(ownerFile, ''), 10);
      if (Number.isInteger(owner) && !alive(owner)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new InfraError(`infra is locked by pid ${owner} (${lockDir}); try again later`, {
          retriable: false,
        });
      }
      await sleep(250);
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
