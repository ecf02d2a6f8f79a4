import { mapConcurrent } from '../concurrent';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Manifest, type ManifestFile, type ModelVersion } from '../../schemas/manifest';
import { ConfigError } from '../errors';
import {
  copyFileDurable,
  digestFile,
  fsyncDir,
  isErrno,
  listDir,
  listFilesRecursive,
  replaceFileAtomic,
  writeFileDurable,
} from './fs-io';
import { activeStaging, type FsLayout, stagingName } from './fs-layout';
import type { PublishFile, PublishSource } from './store';
import { asVersion, formatVersion, versionNumber } from './version';

/** The points of a publish at which a test can inject a crash. */
export type PublishStep =
  | 'staging-created'
  | 'file-written'
  | 'files-synced'
  | 'manifest-written'
  | 'version-renamed'
  | 'latest-moved';

/**
 * Test hook called at each step of a publish. Throwing from it simulates a crash at that point:
 * the publish stops and leaves on disk exactly what a killed process would (no cleanup), which
 * the next `openFsRegistry` must tidy up.
 */
export type PublishFaults = (
  step: PublishStep,
  detail: { model: string; path?: string; version?: ModelVersion },
) => void | Promise<void>;

/** Calls the fault hook, remembering whether it "crashed" the publish. */
export class FaultPoint {
  crashed = false;
  constructor(
    private readonly faults: PublishFaults | undefined,
    private readonly model: string,
  ) {}
  async at(
    step: PublishStep,
    detail: { path?: string; version?: ModelVersion } = {},
  ): Promise<void> {
    if (!this.faults) return;
    try {
      await this.faults(step, { model: this.model, ...detail });
    } catch (error) {
      this.crashed = true;
      throw error;
    }
  }
}

/** Files staged for a version, not yet visible. */
export interface StagedVersion {
  dir: string;
  files: ManifestFile[];
  /** Undoes the staging after a failed (not crashed) publish: hands a moved directory back. */
  abandon(): Promise<void>;
  /** Forgets the staging directory as live (after commit or abandon). */
  release(): void;
}

/**
 * Stages the files of a new version under `.staging/` (invisible to readers). The caller commits
 * it with {@link commitStaged} or abandons it.
 */
export async function stageVersion(
  layout: FsLayout,
  model: string,
  source: PublishSource,
  fault: FaultPoint,
): Promise<StagedVersion> {
  await mkdir(layout.versions(model), { recursive: true });
  await mkdir(layout.staging(model), { recursive: true });
  const staging = join(layout.staging(model), stagingName());
  activeStaging.add(staging);
  let moved: (() => Promise<void>) | undefined;
  const abandon = async (): Promise<void> => {
    await moved?.().catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
  };
  const release = (): void => {
    activeStaging.delete(staging);
  };
  try {
    await mkdir(staging, { recursive: true });
    await fault.at('staging-created');
    const files =
      'sourceDir' in source && source.move === true
        ? await adoptDirectory(source.sourceDir, join(staging, 'files'), fault, (undo) => {
            moved = undo;
          })
        : await stageFiles(join(staging, 'files'), source, fault);
    await fault.at('files-synced');
    return { dir: staging, files, abandon, release };
  } catch (error) {
    if (!fault.crashed) await abandon();
    release();
    throw error;
  }
}

/**
 * Writes the manifest into the staged directory and renames it into `versions/`, which is the
 * commit point: before it nothing is visible, after it the version is complete. The caller holds
 * the model lock (so the number and the parent are decided atomically with the commit); the
 * rename still refuses an existing version directory, and the loser takes the next number.
 */
export async function commitStaged(
  layout: FsLayout,
  model: string,
  staged: StagedVersion,
  manifestOf: (version: ModelVersion) => Manifest,
  fault: FaultPoint,
): Promise<Manifest> {
  let n = (await newestNumber(layout, model)) + 1;
  for (;;) {
    const version = formatVersion(n);
    const manifest = Manifest.parse(manifestOf(version));
    await replaceFileAtomic(
      join(staged.dir, 'manifest.json'),
      `${JSON.stringify(manifest, null, 2)}\n`,
    );
    await fault.at('manifest-written', { version });
    try {
      await rename(staged.dir, layout.version(model, version));
    } catch (error) {
      if (!isErrno(error, 'ENOTEMPTY', 'EEXIST')) throw error;
      n = Math.max(n + 1, (await newestNumber(layout, model)) + 1);
      continue;
    }
    await fsyncDir(layout.versions(model));
    return manifest;
  }
}

/** The highest version number of a model, 0 when it has none. */
export async function newestNumber(layout: FsLayout, model: string): Promise<number> {
  let max = 0;
  for (const name of await listDir(layout.versions(model))) {
    const version = asVersion(name);
    if (version !== null) max = Math.max(max, versionNumber(version));
  }
  return max;
}

/** Files hashed and fsynced at once. */
const PUBLISH_CONCURRENCY = 4;

/**
 * Renames `sourceDir` to `dir` (copying when it is on another device), then hashes and fsyncs
 * every file. `onMoved` receives how to undo the rename.
 */
async function adoptDirectory(
  sourceDir: string,
  dir: string,
  fault: FaultPoint,
  onMoved: (undo: () => Promise<void>) => void,
): Promise<ManifestFile[]> {
  try {
    await rename(sourceDir, dir);
  } catch (error) {
    if (isErrno(error, 'EXDEV')) return stageFiles(dir, { sourceDir }, fault);
    if (isErrno(error, 'ENOENT', 'ENOTDIR')) {
      throw new ConfigError(`publish: cannot read directory '${sourceDir}'`, { cause: error });
    }
    throw error;
  }
  onMoved(() => rename(dir, sourceDir));
  await fsyncDir(dirname(sourceDir));
  const paths = await listFilesRecursive(dir);
  if (paths.length === 0) throw new ConfigError(`publish: '${sourceDir}' holds no files`);
  const dirs = new Set<string>([dir]);
  for (const path of paths) {
    for (let d = dirname(join(dir, ...path.split('/'))); d.length > dir.length; d = dirname(d))
      dirs.add(d);
  }
  // A few files at a time (see src/concurrent.ts: a recurring window publishes beside training).
  const out = await mapConcurrent(paths, PUBLISH_CONCURRENCY, async (path) => {
    const digest = await digestFile(join(dir, ...path.split('/')), { sync: true });
    await fault.at('file-written', { path });
    return { path, ...digest };
  });
  for (const d of dirs) await fsyncDir(d);
  return out;
}

/** Copies or writes every file into `dir`, fsyncing files and directories; returns their digests. */
async function stageFiles(
  dir: string,
  source: PublishSource,
  fault: FaultPoint,
): Promise<ManifestFile[]> {
  const items: PublishFile[] =
    'sourceDir' in source
      ? (await listFilesRecursive(source.sourceDir)).map((path) => ({
          path,
          source: join(source.sourceDir, path),
        }))
      : [...source.files];
  if (items.length === 0) throw new ConfigError('publish: there are no files to publish');
  const seen = new Set<string>();
  const dirs = new Set<string>([dir]);
  const out: ManifestFile[] = [];
  for (const item of items) {
    const path = checkRelativePath(item.path);
    if (seen.has(path)) throw new ConfigError(`publish: file '${path}' is listed twice`);
    seen.add(path);
    const target = join(dir, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    for (let d = dirname(target); d.length > dir.length; d = dirname(d)) dirs.add(d);
    const digest =
      'source' in item
        ? await copyFileDurable(item.source, target).catch((error: unknown) => {
            if (isErrno(error, 'ENOENT', 'EISDIR'))
              throw new ConfigError(`publish: cannot read '${item.source}'`, { cause: error });
            throw error;
          })
        : await writeFileDurable(target, item.data);
    out.push({ path, ...digest });
    await fault.at('file-written', { path });
  }
  for (const d of dirs) await fsyncDir(d);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A normalised `/`-separated relative path, or a ConfigError saying why it is not one. */
export function checkRelativePath(path: string): string {
  const normal = posix.normalize(path.replaceAll('\\', '/'));
  if (
    normal === '.' ||
    normal.startsWith('/') ||
    normal === '..' ||
    normal.startsWith('../') ||
    normal.endsWith('/')
  ) {
    throw new ConfigError(`publish: '${path}' is not a relative file path inside the version`);
  }
  return normal;
}
