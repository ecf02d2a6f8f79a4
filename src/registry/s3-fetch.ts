import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Manifest, ManifestFile } from '../../schemas/manifest';
import { DataError } from '../errors';
import { digestFile, isErrno } from './fs-io';
import { isNotFound, s3Failure } from './s3-client';

/** Marks a cached version directory whose every file matched the manifest when downloaded. */
const COMPLETE = '.complete';

/** Where a file of a version lives in the bucket. */
export type KeyOf = (file: ManifestFile) => string;

/**
 * Streams one object through SHA-256 into `target` (or nowhere) and checks it against the
 * manifest entry; throws DataError naming the object on a mismatch or when it is missing.
 */
export async function downloadVerified(
  client: S3Client,
  bucket: string,
  key: string,
  file: ManifestFile,
  what: string,
  target?: string,
): Promise<void> {
  let body;
  try {
    body = (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
  } catch (error) {
    if (isNotFound(error)) throw new DataError(`${what}: file s3://${bucket}/${key} is missing`);
    throw s3Failure(`GET s3://${bucket}/${key}`, error);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  // Hashing inside the pipeline sees exactly the bytes that reach the file.
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, target === undefined ? undefined : chunk);
    },
  });
  if (target === undefined) {
    await pipeline(body as Readable, hasher, new Writable({ write: (_c, _e, done) => done() }));
  } else {
    await mkdir(dirname(target), { recursive: true });
    await pipeline(body as Readable, hasher, createWriteStream(target));
  }
  const sha256 = hash.digest('hex');
  if (bytes !== file.bytes || sha256 !== file.sha256) {
    throw new DataError(
      `${what}: checksum mismatch in s3://${bucket}/${key}: the manifest says ${file.bytes} bytes, ` +
        `sha256 ${file.sha256}; the object has ${bytes} bytes, sha256 ${sha256}. ` +
        'Refusing to use a corrupt version.',
    );
  }
}

/**
 * Returns a local directory holding a verified copy of the version: the cached one when its
 * files still match the manifest, else a fresh download (into a temporary directory renamed
 * into place, so a crashed or corrupt download never looks cached).
 */
export async function fetchIntoCache(
  client: S3Client,
  bucket: string,
  manifest: Manifest,
  keyOf: KeyOf,
  cacheDir: string,
): Promise<string> {
  const what = `${manifest.model} ${manifest.version}`;
  if (await cachedCopyMatches(cacheDir, manifest)) return cacheDir;
  await rm(cacheDir, { recursive: true, force: true });
  const tmp = `${cacheDir}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    for (const file of manifest.files) {
      const target = join(tmp, ...file.path.split('/'));
      await downloadVerified(client, bucket, keyOf(file), file, what, target);
    }
    await writeFile(join(tmp, COMPLETE), `${JSON.stringify(manifest.files)}\n`);
    try {
      await rename(tmp, cacheDir);
    } catch (error) {
      // Another fetch of the same version finished first: its copy is as good as ours.
      if (!isErrno(error, 'ENOTEMPTY', 'EEXIST')) throw error;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return cacheDir;
}

async function cachedCopyMatches(dir: string, manifest: Manifest): Promise<boolean> {
  try {
    if ((await readFile(join(dir, COMPLETE), 'utf8')).trim() !== JSON.stringify(manifest.files)) {
      return false;
    }
    for (const file of manifest.files) {
      const actual = await digestFile(join(dir, ...file.path.split('/')));
      if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) return false;
    }
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) return false;
    throw error;
  }
}
