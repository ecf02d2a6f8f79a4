import { hostname } from 'node:os';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { InfraError } from '../errors';
import { isErrno } from './fs-io';

/** A lock older than this is presumed abandoned even if its owner cannot be checked. */
const STALE_MS = 60_000;

interface LockOwner {
  pid: number;
  host: string;
  at: number;
}

/**
 * Runs `fn` holding an exclusive lock file at `path` (create-exclusive, so it works across
 * processes). The critical sections it guards (moving `latest`, editing the state file,
 * retention) take milliseconds; a lock left by a crashed process is broken when its owner is
 * dead (same host) or it is older than a minute.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let delay = 2;
  for (;;) {
    if (await tryAcquire(path)) break;
    await breakIfAbandoned(path);
    if (Date.now() > deadline) {
      throw new InfraError(`timed out waiting for the registry lock ${path}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 50);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function tryAcquire(path: string): Promise<boolean> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), at: Date.now() };
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(JSON.stringify(owner));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  }
}

async function breakIfAbandoned(path: string): Promise<void> {
  let owner: Partial<LockOwner> = {};
  let age = 0;
  try {
    owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    age = Date.now() - (await stat(path)).mtimeMs;
  } catch {
    // Gone already, or caught between create and write: let the next attempt decide.
    return;
  }
  const deadOwner =
    owner.host === hostname() && typeof owner.pid === 'number' && !processAlive(owner.pid);
  if (!deadOwner && age < STALE_MS) return;
  // Renaming (not unlinking) means only one of several breakers removes it.
  const broken = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.broken`;
  try {
    await rename(path, broken);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    return;
  }
  await rm(broken, { force: true });
}

/** Whether a process with this pid exists on this host. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}
