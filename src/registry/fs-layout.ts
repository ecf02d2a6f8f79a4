import { hostname } from 'node:os';
import { join } from 'node:path';
import { rm, stat } from 'node:fs/promises';
import type { ModelVersion } from '../../schemas/manifest';
import { listDir } from './fs-io';
import { processAlive } from './fs-lock';

/**
 * Where things live in a filesystem registry:
 *
 * ```
 * <root>/<model>/versions/<version>/manifest.json   immutable, written last
 * <root>/<model>/versions/<version>/files/…         the published files (e.g. a checkpoint dir)
 * <root>/<model>/latest                              "v000007\n", replaced atomically
 * <root>/<model>/state.json                          promotions and rollback history
 * <root>/<model>/.staging/<host>~<pid>~<nonce>/      a publish in progress (invisible)
 * <root>/<model>/.trash/                             versions being deleted by retention
 * <root>/<model>/.lock                               guards latest, state.json and retention
 * ```
 *
 * The payload sits under `files/` so that a checkpoint carrying its own `manifest.json` never
 * collides with the registry's.
 */
export class FsLayout {
  constructor(readonly root: string) {}
  model(model: string): string {
    return join(this.root, model);
  }
  versions(model: string): string {
    return join(this.root, model, 'versions');
  }
  version(model: string, version: ModelVersion): string {
    return join(this.root, model, 'versions', version);
  }
  files(model: string, version: ModelVersion): string {
    return join(this.version(model, version), 'files');
  }
  manifest(model: string, version: ModelVersion): string {
    return join(this.version(model, version), 'manifest.json');
  }
  latest(model: string): string {
    return join(this.root, model, 'latest');
  }
  state(model: string): string {
    return join(this.root, model, 'state.json');
  }
  staging(model: string): string {
    return join(this.root, model, '.staging');
  }
  trash(model: string): string {
    return join(this.root, model, '.trash');
  }
  lock(model: string): string {
    return join(this.root, model, '.lock');
  }
}

/** Staging directories of publishes running in this process (not to be cleaned up). */
export const activeStaging = new Set<string>();

/** A fresh staging directory name that records who owns it. */
export function stagingName(): string {
  return `${hostname()}~${process.pid}~${Math.random().toString(36).slice(2, 10)}`;
}

/** Leftovers of another host are only removed after this long (its pids mean nothing here). */
const FOREIGN_STALE_MS = 24 * 3600_000;

/**
 * Removes what crashed publishes and retention runs left behind: staging directories whose
 * owner is gone (a dead pid on this host, or this process but no longer publishing), trash, and
 * temp files of atomic replaces. Never touches a live publish.
 */
export async function cleanLeftovers(layout: FsLayout, model: string): Promise<void> {
  const stagingDir = layout.staging(model);
  for (const name of await listDir(stagingDir)) {
    const path = join(stagingDir, name);
    if (await abandoned(path, name.split('~'))) await removeQuietly(path);
  }
  const trashDir = layout.trash(model);
  for (const name of await listDir(trashDir)) await removeQuietly(join(trashDir, name));
  for (const name of await listDir(layout.model(model))) {
    // replaceFileAtomic temp files: `<file>.<pid>.<nonce>.tmp`.
    const match = /\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name);
    if (match && !processAlive(Number(match[1]))) {
      await removeQuietly(join(layout.model(model), name));
    }
  }
}

async function abandoned(path: string, owner: string[]): Promise<boolean> {
  const [host, pidText] = owner;
  const pid = Number(pidText);
  if (host === hostname() && Number.isInteger(pid)) {
    if (pid === process.pid) return !activeStaging.has(path);
    return !processAlive(pid);
  }
  try {
    return Date.now() - (await stat(path)).mtimeMs > FOREIGN_STALE_MS;
  } catch {
    return false;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    // Another process may be removing the same leftovers; whoever finishes, it is gone.
  }
}
