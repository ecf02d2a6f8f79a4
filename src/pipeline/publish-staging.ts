import { hostname } from 'node:os';
import { join } from 'node:path';
import { readdir, rm, stat } from 'node:fs/promises';
import { processAlive } from '../registry/fs-lock';

/**
 * Where checkpoints wait to be published (the recurring phase saves each version here, then
 * the registry copies or uploads it): `<dataDir>/staging`. Under the worker's data directory,
 * not the OS temp directory, so a worker SIGKILLed mid-publish leaves its ~2 MB where its next
 * start finds and removes it ({@link sweepPublishStaging}), on the disk sized for its state.
 */
export function publishStagingRoot(dataDir: string): string {
  return join(dataDir, 'staging');
}

/** Separates the parts of a staging directory's name; never in a host name, pid or model name. */
const SEP = '~';

/**
 * A fresh staging directory for a publish of `model` under `root`, named for its owner and
 * birth (`<host>~<pid>~<model>~<epoch ms>~<seq>`) so a sweep can tell a dead process's leftover
 * from a live publish without any other record.
 */
export function publishStagingDir(root: string, model: string, seq: number): string {
  return join(root, [hostname(), process.pid, model, Date.now(), seq].join(SEP));
}

/** Options of {@link sweepPublishStaging}. */
export interface SweepOptions {
  /**
   * Entries older than this are removed whoever owns them: a publish takes seconds, and the
   * owner of an entry from another host (a shared disk) cannot be checked. @default 1 hour
   */
  staleAfterMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Whether a pid of this host is a running process. @default `kill(pid, 0)` */
  alive?: (pid: number) => boolean;
}

/**
 * Removes what publishes of dead processes left under `root`: entries of a dead pid on this
 * host, and any entry older than `staleAfterMs` (including names this module did not make).
 * Never touches a live process's recent entry. A missing `root` is an empty one.
 *
 * @returns the names removed, for the worker's start-up line
 */
export async function sweepPublishStaging(
  root: string,
  options: SweepOptions = {},
): Promise<string[]> {
  const staleAfterMs = options.staleAfterMs ?? 3600_000;
  const now = (options.now ?? Date.now)();
  const alive = options.alive ?? processAlive;
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const path = join(root, name);
    const owner = ownerOf(name);
    const bornAt = owner?.bornAt ?? (await modifiedAt(path));
    const deadOwner =
      owner !== null && owner.host === hostname() && owner.pid !== process.pid && !alive(owner.pid);
    if (!deadOwner && (bornAt === null || now - bornAt <= staleAfterMs)) continue;
    // force: another worker on the same data directory may be sweeping the same entry.
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function ownerOf(name: string): { host: string; pid: number; bornAt: number } | null {
  // saveCheckpoint writes `.<name>.tmp-…` beside the directory and renames it when complete.
  const [host, pid, , bornAt, seq] = name.replace(/^\./, '').split(SEP);
  if (host === undefined || seq === undefined) return null;
  const [p, t] = [Number(pid), Number(bornAt)];
  return Number.isSafeInteger(p) && p > 0 && Number.isSafeInteger(t)
    ? { host, pid: p, bornAt: t }
    : null;
}

async function modifiedAt(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return null; // gone meanwhile
  }
}
