import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Size and SHA-256 (lowercase hex) of some bytes. */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

const CHUNK = 1 << 20;

/** Flushes a directory's entries (new names, renames) to disk, so they survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Copies `from` to a new file `to`, hashing on the way and fsyncing `to` before returning. */
export async function copyFileDurable(from: string, to: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  const source = await open(from, 'r');
  try {
    const target = await open(to, 'wx');
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      let bytes = 0;
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        await target.write(chunk);
        bytes += bytesRead;
      }
      await target.sync();
      return { bytes, sha256: hash.digest('hex') };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** Writes `data` to a new file `to` and fsyncs it. */
export async function writeFileDurable(to: string, data: Uint8Array | string): Promise<FileDigest> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const target = await open(to, 'wx');
  try {
    await target.writeFile(bytes);
    await target.sync();
  } finally {
    await target.close();
  }
  return { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Replaces `path` atomically: readers see the old content or the new one, never a mix or
 * nothing. Writes a uniquely named temp file in the same directory, fsyncs it, renames it over
 * `path` and fsyncs the directory.
 */
export async function replaceFileAtomic(path: string, data: string): Promise<void> {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFileDurable(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(dirname(path));
}

/**
 * Size and SHA-256 of a file on disk; with `sync`, also flushes it to disk (for files another
 * writer made and the registry adopts by renaming).
 */
export async function digestFile(
  path: string,
  options: { sync?: boolean } = {},
): Promise<FileDigest> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    if (options.sync) await handle.sync();
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Every regular file under `dir`, as `/`-separated paths relative to it, sorted. */
export async function listFilesRecursive(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  await walk('');
  return out.sort();
}

/** Creates `dir` (and parents) if missing. */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** Names in `dir`, or none if it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}

/** True when `error` is a Node system error with one of `codes`. */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    codes.includes(String((error as { code: unknown }).code))
  );
}
