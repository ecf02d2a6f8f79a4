import { readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  Manifest,
  ManifestFields,
  type ManifestFieldsInput,
  ModelName,
  ModelState,
  ModelVersion,
  type StateEvent,
} from '../../schemas/manifest';
import { RegistryConfig, type RegistryConfigInput } from '../../schemas/registry-config';
import { parseOrThrow } from '../../schemas/zod-errors';
import { AgpError, ConfigError, DataError } from '../errors';
import { AnnouncementError, type Announcer } from './announcer';
import { digestFile, ensureDir, fsyncDir, isErrno, listDir, replaceFileAtomic } from './fs-io';
import { cleanLeftovers, FsLayout, stagingName } from './fs-layout';
import { withFileLock } from './fs-lock';
import { checkLabel, checkLabelTarget, relabel } from './labels';
import { PublishConflictError } from './conflict';
import { commitStaged, FaultPoint, type PublishFaults, stageVersion } from './fs-publish';
import { expiredVersions } from './retention';
import { checkModelName, parseStoredJson } from './stored-json';
import type {
  FetchedVersion,
  ModelListing,
  PublishOptions,
  PublishSource,
  RegistryStore,
  RollbackResult,
  UnreadableVersion,
  VersionRef,
  VersionSummary,
} from './store';
import { asVersion, compareVersions } from './version';

/** Options of {@link openFsRegistry} that are not configuration. */
export interface FsRegistryOptions {
  /** Announces every publish (e.g. `createKafkaAnnouncer`). */
  announcer?: Announcer;
  /** Test hook: throw from it to simulate a crash at a publish step. */
  faults?: PublishFaults;
  /** Clock for `createdAt` and history entries. @default () => new Date() */
  now?: () => Date;
}

/** The filesystem registry: a {@link RegistryStore} rooted at a directory. */
export interface FsRegistryStore extends RegistryStore {
  readonly root: string;
  readonly keep: number;
}

/** Bound on the state file's history, so a long-lived model's state stays small. */
const MAX_HISTORY = 1000;

/**
 * Opens (creating if needed) the filesystem registry under `config.root` and removes what
 * crashed publishes left behind.
 *
 * @param config - root @default '.data/registry'; keep @default 10
 */
export async function openFsRegistry(
  config: RegistryConfigInput = {},
  options: FsRegistryOptions = {},
): Promise<FsRegistryStore> {
  const parsed = parseOrThrow(RegistryConfig, config, 'registry config');
  const layout = new FsLayout(resolve(parsed.root));
  await ensureDir(layout.root);
  const registry = new FsRegistry(layout, parsed.keep, options);
  for (const model of await listDir(layout.root)) {
    if (!ModelName.safeParse(model).success) continue;
    await cleanLeftovers(layout, model);
    await registry.recover(model);
  }
  return registry;
}

class FsRegistry implements FsRegistryStore {
  readonly location: string;
  readonly root: string;
  private readonly now: () => Date;

  constructor(
    private readonly layout: FsLayout,
    readonly keep: number,
    private readonly options: FsRegistryOptions,
  ) {
    this.root = layout.root;
    this.location = layout.root;
    this.now = options.now ?? (() => new Date());
  }

  async publish(
    model: string,
    source: PublishSource,
    input: ManifestFieldsInput,
    options: PublishOptions = {},
  ): Promise<Manifest> {
    checkModelName(model);
    const fields = parseOrThrow(ManifestFields, input, `manifest fields of ${model}`);
    const fault = new FaultPoint(this.options.faults, model);
    const createdAt = this.now().toISOString();
    // A version's parent, when named, is also what the head must be (the CAS), unless the
    // publisher says otherwise (after held versions, or when handing over a new lineage).
    const expect = options.expect !== undefined ? options.expect : (fields.parent ?? undefined);
    const held = fields.gate?.held === true;
    const staged = await stageVersion(this.layout, model, source, fault);
    let manifest: Manifest;
    try {
      manifest = await withFileLock(this.layout.lock(model), async () => {
        const latest = await this.rollForward(model);
        if (expect !== undefined) {
          const head = await this.findHead(model, latest);
          if (head !== expect) throw new PublishConflictError(model, expect, head);
        }
        if (fields.parent != null && fields.parent !== latest) {
          // Only a hand-over may name a parent other than latest: the root of another lineage.
          if (
            options.expect === undefined ||
            !(await this.isStandbyRoot(model, fields.parent, latest))
          ) {
            throw new PublishConflictError(model, fields.parent, latest, 'latest');
          }
        }
        const parent = fields.parent !== undefined ? fields.parent : latest;
        // A new lineage (no parent, no hand-over CAS) never displaces the served chain.
        const standby = fields.parent === null && options.expect === undefined && latest !== null;
        const committed = await commitStaged(
          this.layout,
          model,
          staged,
          (version) =>
            Manifest.parse({
              ...fields,
              parent,
              v: 1,
              model,
              version,
              createdAt,
              files: staged.files,
            }),
          fault,
        );
        await fault.at('version-renamed', { version: committed.version });
        if (!held && !standby) {
          await replaceFileAtomic(this.layout.latest(model), `${committed.version}\n`);
        }
        await fault.at('latest-moved', { version: committed.version });
        await this.applyRetention(model);
        return committed;
      });
    } catch (error) {
      if (!fault.crashed) await staged.abandon();
      throw error;
    } finally {
      staged.release();
    }
    if (this.options.announcer) {
      try {
        await this.options.announcer.announce(manifest, this.manifestPath(model, manifest.version));
      } catch (error) {
        throw new AnnouncementError(manifest, error);
      }
    }
    return manifest;
  }

  async head(model: string): Promise<ModelVersion | null> {
    checkModelName(model);
    return this.findHead(model, await this.latest(model));
  }

  /** True when `version` starts a lineage (no parent) that `latest` does not descend from. */
  private async isStandbyRoot(
    model: string,
    version: ModelVersion,
    latest: ModelVersion | null,
  ): Promise<boolean> {
    const manifest = await this.readManifest(model, version).catch(() => null);
    if (manifest === null || manifest.parent !== null) return false;
    // Ancestors have smaller numbers, so the walk stops at `version`'s number.
    let at = latest;
    while (at !== null && compareVersions(at, version) > 0) {
      at = (await this.readManifest(model, at).catch(() => null))?.parent ?? null;
    }
    return at !== version;
  }

  /** The newest of `latest` and its held children (discarded ones included: their offsets stay skipped). */
  /** Completes, under the model's lock, a publish that crashed before moving `latest`. */
  async recover(model: string): Promise<void> {
    if ((await this.versionsOf(model)).length === 0) return;
    await withFileLock(this.layout.lock(model), () => this.rollForward(model));
  }

  /**
   * Rolls `latest` forward over a publish that crashed after its commit point (the rename) and
   * before it moved `latest`: a served child of `latest` (not held, not a new lineage) created
   * after the last rollback is complete and durable, so it becomes `latest`. Left as it was, a
   * retry would resume from `latest` and train that version's offsets a second time beside it.
   * Versions older than the last rollback stay rolled back. Call it holding the model's lock;
   * returns the (possibly new) `latest`.
   */
  private async rollForward(model: string): Promise<ModelVersion | null> {
    const latest = await this.latest(model);
    if (latest === null) return null;
    const lastRollback = (await this.state(model)).history
      .filter((e) => e.action === 'rollback')
      .map((e) => e.at)
      .sort()
      .at(-1);
    let current = latest;
    const newer = (await this.versionsOf(model))
      .filter((v) => compareVersions(v, latest) > 0)
      .sort(compareVersions);
    for (const version of newer) {
      const manifest = await this.readManifest(model, version).catch(() => null);
      if (
        manifest !== null &&
        manifest.parent === current &&
        manifest.gate?.held !== true &&
        (lastRollback === undefined || manifest.createdAt > lastRollback)
      ) {
        current = version;
      }
    }
    if (current !== latest) await replaceFileAtomic(this.layout.latest(model), `${current}\n`);
    return current;
  }

  private async findHead(model: string, latest: ModelVersion | null): Promise<ModelVersion | null> {
    if (latest === null) return null;
    let head = latest;
    for (const version of await this.versionsOf(model)) {
      if (compareVersions(version, latest) <= 0) continue;
      const manifest = await this.readManifest(model, version).catch(() => null);
      if (manifest?.parent === latest && manifest.gate?.held === true) head = version;
    }
    return head;
  }

  async list(
    model?: string,
    onUnreadable?: (problem: UnreadableVersion) => void,
  ): Promise<ModelListing[]> {
    let models: string[];
    if (model !== undefined) {
      checkModelName(model);
      if ((await this.versionsOf(model)).length === 0) {
        const known = await this.models();
        throw new ConfigError(
          `no model '${model}' in registry ${this.root}` +
            (known.length ? ` (models: ${known.join(', ')})` : ' (it is empty)'),
        );
      }
      models = [model];
    } else {
      models = await this.models();
    }
    const listings: ModelListing[] = [];
    for (const name of models) {
      const latest = await this.latest(name);
      const state = await this.state(name);
      const promoted = new Set<string>(state.promoted);
      const discarded = new Set<string>(state.discarded);
      const versions: VersionSummary[] = [];
      for (const version of await this.versionsOf(name)) {
        let m: Manifest;
        try {
          m = await this.readManifest(name, version);
        } catch (error) {
          // One damaged directory must not hide every other version (or model).
          if (!(error instanceof AgpError)) throw error;
          onUnreadable?.({ model: name, name: version, problem: error.message });
          continue;
        }
        versions.push({
          version,
          parent: m.parent,
          phase: m.phase,
          createdAt: m.createdAt,
          metrics: m.metrics,
          bytes: m.files.reduce((sum, f) => sum + f.bytes, 0),
          promoted: promoted.has(version),
          latest: version === latest,
          held: m.gate?.held === true && !promoted.has(version),
          discarded: discarded.has(version),
        });
      }
      listings.push({ model: name, latest, versions });
    }
    return listings;
  }

  async get(model: string, ref: VersionRef): Promise<Manifest> {
    checkModelName(model);
    return this.readManifest(model, await this.resolve(model, ref));
  }

  async latest(model: string): Promise<ModelVersion | null> {
    checkModelName(model);
    const path = this.layout.latest(model);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
    const version = asVersion(text.trim());
    if (version === null) {
      throw new DataError(`${path}: expected a version like v000001, found '${text.trim()}'`);
    }
    return version;
  }

  async verify(model: string, ref: VersionRef): Promise<Manifest> {
    const manifest = await this.get(model, ref);
    const dir = this.layout.files(model, manifest.version);
    for (const file of manifest.files) {
      const path = join(dir, ...file.path.split('/'));
      let actual;
      try {
        actual = await digestFile(path);
      } catch (error) {
        if (isErrno(error, 'ENOENT')) {
          throw new DataError(`${model} ${manifest.version}: file ${path} is missing`);
        }
        throw error;
      }
      if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) {
        throw new DataError(
          `${model} ${manifest.version}: checksum mismatch in ${path}: the manifest says ` +
            `${file.bytes} bytes, sha256 ${file.sha256}; the file has ${actual.bytes} bytes, ` +
            `sha256 ${actual.sha256}. Refusing to use a corrupt version.`,
        );
      }
    }
    return manifest;
  }

  async fetch(model: string, ref: VersionRef): Promise<FetchedVersion> {
    const manifest = await this.verify(model, ref);
    return { manifest, dir: this.layout.files(model, manifest.version) };
  }

  async promote(model: string, version: ModelVersion, reason?: string): Promise<ModelState> {
    const manifest = await this.get(model, version);
    return withFileLock(this.layout.lock(model), async () => {
      const state = await this.state(model);
      if (manifest.gate?.held === true && !state.promoted.includes(version)) {
        await this.releaseHeld(model, manifest, state);
      }
      const next: ModelState = {
        ...state,
        promoted: state.promoted.includes(version) ? state.promoted : [...state.promoted, version],
        history: [...state.history, this.event('promote', version, reason)].slice(-MAX_HISTORY),
      };
      await replaceFileAtomic(this.layout.state(model), `${JSON.stringify(next, null, 2)}\n`);
      return next;
    });
  }

  /**
   * Makes a held version `latest` (the caller holds the lock). Only the head may be released:
   * a newer held version's offsets follow it, and continuing from an older one would train them
   * twice.
   */
  private async releaseHeld(model: string, manifest: Manifest, state: ModelState): Promise<void> {
    const { version } = manifest;
    if (state.discarded.includes(version)) {
      throw new ConfigError(`${model} ${version} was discarded; it cannot be promoted`);
    }
    const latest = await this.latest(model);
    const head = await this.findHead(model, latest);
    if (manifest.parent !== latest || head !== version) {
      throw new ConfigError(
        `${model} ${version} is held, and only the newest held child of latest can be promoted ` +
          `(latest is ${latest ?? 'none'}, the newest held version is ${head ?? 'none'})`,
      );
    }
    await this.verify(model, version);
    await replaceFileAtomic(this.layout.latest(model), `${version}\n`);
  }

  async discard(model: string, version: ModelVersion, reason?: string): Promise<ModelState> {
    const manifest = await this.get(model, version);
    return withFileLock(this.layout.lock(model), async () => {
      const state = await this.state(model);
      if (manifest.gate?.held !== true || state.promoted.includes(version)) {
        throw new ConfigError(
          `${model} ${version} is not a held version; only versions the publish gate held can be discarded`,
        );
      }
      const next: ModelState = {
        ...state,
        discarded: state.discarded.includes(version)
          ? state.discarded
          : [...state.discarded, version],
        history: [...state.history, this.event('discard', version, reason)].slice(-MAX_HISTORY),
      };
      await replaceFileAtomic(this.layout.state(model), `${JSON.stringify(next, null, 2)}\n`);
      return next;
    });
  }

  async setLabel(
    model: string,
    label: string,
    version: ModelVersion,
    reason?: string,
  ): Promise<ModelState> {
    const name = checkLabel(model, label);
    return withFileLock(this.layout.lock(model), async () => {
      // Under the lock, so retention cannot delete the version between the check and the write.
      await checkLabelTarget(this, model, name, version);
      return this.writeLabel(model, name, version, reason);
    });
  }

  async deleteLabel(model: string, label: string, reason?: string): Promise<ModelState> {
    const name = checkLabel(model, label);
    return withFileLock(this.layout.lock(model), () => this.writeLabel(model, name, null, reason));
  }

  /** Sets or (null) removes a label in state.json; the caller holds the lock. */
  private async writeLabel(
    model: string,
    label: string,
    version: ModelVersion | null,
    reason: string | undefined,
  ): Promise<ModelState> {
    const event = (action: StateEvent['action'], v: ModelVersion) => this.event(action, v, reason);
    const next = relabel(model, await this.state(model), label, version, event, MAX_HISTORY);
    await replaceFileAtomic(this.layout.state(model), `${JSON.stringify(next, null, 2)}\n`);
    return next;
  }

  async rollback(model: string, version?: ModelVersion, reason?: string): Promise<RollbackResult> {
    checkModelName(model);
    return withFileLock(this.layout.lock(model), async () => {
      const from = await this.latest(model);
      let to = version;
      if (to === undefined) {
        if (from === null)
          throw new ConfigError(`${model} has no latest version to roll back from`);
        const older = (await this.versionsOf(model)).filter((v) => compareVersions(v, from) < 0);
        to = older.at(-1);
        if (to === undefined) {
          throw new ConfigError(`${model}: no version older than ${from} to roll back to`);
        }
      }
      // Never point consumers at a version whose files do not match its manifest.
      await this.verify(model, to);
      await replaceFileAtomic(this.layout.latest(model), `${to}\n`);
      const state = await this.state(model);
      const event = { ...this.event('rollback', to, reason), from };
      const next: ModelState = {
        ...state,
        history: [...state.history, event].slice(-MAX_HISTORY),
      };
      await replaceFileAtomic(this.layout.state(model), `${JSON.stringify(next, null, 2)}\n`);
      return { from, to };
    });
  }

  async state(model: string): Promise<ModelState> {
    checkModelName(model);
    const path = this.layout.state(model);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        return { v: 1, promoted: [], discarded: [], labels: {}, history: [] };
      }
      throw error;
    }
    return parseStoredJson(ModelState, text, path);
  }

  manifestPath(model: string, version: ModelVersion): string {
    return this.layout.manifest(model, version);
  }

  private event(action: StateEvent['action'], version: ModelVersion, reason?: string) {
    return {
      at: this.now().toISOString(),
      action,
      version,
      ...(reason === undefined ? {} : { reason }),
    };
  }

  private async models(): Promise<string[]> {
    const out: string[] = [];
    for (const name of (await listDir(this.root)).sort()) {
      if (ModelName.safeParse(name).success && (await this.versionsOf(name)).length > 0) {
        out.push(name);
      }
    }
    return out;
  }

  /** The model's versions, oldest first. */
  private async versionsOf(model: string): Promise<ModelVersion[]> {
    return (await listDir(this.layout.versions(model)))
      .map(asVersion)
      .filter((v): v is ModelVersion => v !== null)
      .sort(compareVersions);
  }

  private async resolve(model: string, ref: VersionRef): Promise<ModelVersion> {
    if (ref === 'latest') {
      const latest = await this.latest(model);
      if (latest === null) throw new ConfigError(`${model} has no versions in ${this.root}`);
      return latest;
    }
    const parsed = ModelVersion.safeParse(ref);
    if (!parsed.success) {
      throw new ConfigError(
        `'${String(ref)}' is not a version (expected e.g. v000001 or 'latest')`,
      );
    }
    return parsed.data;
  }

  private async readManifest(model: string, version: ModelVersion): Promise<Manifest> {
    const path = this.layout.manifest(model, version);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        const versions = await this.versionsOf(model);
        if (versions.includes(version)) {
          throw new DataError(
            `${model} ${version}: ${path} is missing (an incomplete or damaged version directory; ` +
              'a publish never leaves one, so it was copied or edited by hand)',
          );
        }
        throw new ConfigError(
          `${model} has no version ${version} in ${this.root}` +
            (versions.length ? ` (versions: ${versions.join(', ')})` : ''),
        );
      }
      throw error;
    }
    const manifest = parseStoredJson(Manifest, text, path);
    if (manifest.model !== model || manifest.version !== version) {
      throw new DataError(
        `${path}: the manifest names ${manifest.model} ${manifest.version}, not ${model} ${version}`,
      );
    }
    return manifest;
  }

  /** Deletes expired versions; the caller holds the model lock. */
  private async applyRetention(model: string): Promise<void> {
    const expired = expiredVersions(await this.versionsOf(model), this.keep, {
      promoted: (await this.state(model)).promoted,
      latest: await this.latest(model),
    });
    if (expired.length === 0) return;
    await ensureDir(this.layout.trash(model));
    for (const version of expired) {
      // Rename first so readers never see a half-deleted version.
      const trashed = join(this.layout.trash(model), `${version}~${stagingName()}`);
      await rename(this.layout.version(model, version), trashed);
      await rm(trashed, { recursive: true, force: true });
    }
    await fsyncDir(this.layout.versions(model));
  }
}
