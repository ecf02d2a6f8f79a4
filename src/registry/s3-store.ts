import { mapConcurrent } from '../concurrent';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  Manifest,
  ManifestFields,
  type ManifestFieldsInput,
  type ManifestFile,
  ModelName,
  type ModelState,
  ModelVersion,
  type StateEvent,
} from '../../schemas/manifest';
import { S3RegistryConfig, type S3RegistryConfigInput } from '../../schemas/registry-config';
import { parseOrThrow } from '../../schemas/zod-errors';
import { ConfigError, DataError, InfraError } from '../errors';
import { AnnouncementError, type Announcer } from './announcer';
import { PublishConflictError } from './conflict';
import { digestFile, isErrno, listFilesRecursive } from './fs-io';
import { checkRelativePath, FaultPoint, type PublishFaults } from './fs-publish';
import { checkLabel, checkLabelTarget, relabel } from './labels';
import { expiredVersions } from './retention';
import { checkModelName, parseStoredJson } from './stored-json';
import {
  createS3Client,
  deletePrefix,
  getObject,
  listKeys,
  listObjects,
  putObject,
} from './s3-client';
import { downloadVerified, fetchIntoCache } from './s3-fetch';
import { EMPTY_REF, ModelRef, type RefEntry } from './s3-ref';
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
import { asVersion, compareVersions, formatVersion, versionNumber } from './version';

/** Options of {@link openS3Registry} that are not configuration. */
export interface S3RegistryOptions {
  /** Announces every publish (e.g. `createKafkaAnnouncer`). */
  announcer?: Announcer;
  /** Test hook: throw from it to simulate a crash at a publish step. */
  faults?: PublishFaults;
  /** Clock for `createdAt` and history entries. @default () => new Date() */
  now?: () => Date;
  /** The process's S3 client. @default one built from the configuration */
  client?: S3Client;
}

/** The S3 registry: a {@link RegistryStore} under `s3://bucket/prefix`. */
export interface S3RegistryStore extends RegistryStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly keep: number;
  readonly client: S3Client;
  /** The key of a model's object `rest` (e.g. `ref.json`), for tests and tools. */
  key(model: string, rest: string): string;
  /**
   * Deletes what crashed publishes left (uploads and claimed manifests no ref lists) once it is
   * older than `olderThanMs`; returns how many objects went. A publish runs it after its commit
   * (at most every 10 minutes per model).
   */
  sweepOrphans(model: string, olderThanMs?: number): Promise<number>;
}

/**
 * How old an unlisted upload or manifest must be before it counts as a crashed publish's: far
 * longer than any publish takes, so an upload still under way is never taken for one.
 */
const ORPHAN_AGE_MS = 60 * 60 * 1000;
/** How often a publish also sweeps orphans (per model and process). */
const ORPHAN_SWEEP_EVERY_MS = 10 * 60 * 1000;

const MAX_HISTORY = 1000;
/** Bound on compare-and-set rounds lost in a row before giving up (retriable). */
const MAX_ROUNDS = 50;
/** Files a publish uploads at once. */
const UPLOAD_CONCURRENCY = 8;

/**
 * Opens the registry on S3-compatible storage. Layout under the prefix, per model:
 * `uploads/<id>/<path>` (files, written first), `versions/<v>/manifest.json` (immutable, created
 * with `If-None-Match: *`, which also allocates the number), `ref.json` (latest, the committed
 * versions and the promotion state; changed only with `If-Match` on its ETag: the commit point).
 *
 * @param config - bucket, prefix, endpoint, region, credentials, cacheDir, keep (see S3RegistryConfig)
 */
export async function openS3Registry(
  config: S3RegistryConfigInput,
  options: S3RegistryOptions = {},
): Promise<S3RegistryStore> {
  const parsed = parseOrThrow(S3RegistryConfig, config, 'S3 registry config');
  const client = options.client ?? createS3Client(parsed);
  // Fails early, with the bucket named, when the server or bucket is unreachable.
  await listKeys(client, parsed.bucket, parsed.prefix === '' ? '' : `${parsed.prefix}/`, '/');
  return new S3Registry(parsed, client, options);
}

class S3Registry implements S3RegistryStore {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly keep: number;
  private readonly cacheDir: string;
  private readonly now: () => Date;
  /** When each model's orphans were last swept by a publish of this process (epoch ms). */
  private readonly lastSweep = new Map<string, number>();

  constructor(
    config: S3RegistryConfig,
    readonly client: S3Client,
    private readonly options: S3RegistryOptions,
  ) {
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.keep = config.keep;
    this.cacheDir = resolve(config.cacheDir);
    this.location = `s3://${config.bucket}/${config.prefix}`;
    this.now = options.now ?? (() => new Date());
  }

  key(model: string, rest: string): string {
    return this.prefix === '' ? `${model}/${rest}` : `${this.prefix}/${model}/${rest}`;
  }

  private manifestKey(model: string, version: ModelVersion): string {
    return this.key(model, `versions/${version}/manifest.json`);
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
    const expect = options.expect !== undefined ? options.expect : (fields.parent ?? undefined);
    const held = fields.gate?.held === true;
    const upload = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    let claimed: ModelVersion | null = null;
    let manifest: Manifest;
    try {
      const files = await this.uploadFiles(model, upload, source, fault);
      manifest = await this.commit(
        model,
        upload,
        fault,
        (ref) => {
          const latest = ref.latest;
          if (expect !== undefined) {
            const head = findHead(ref);
            if (head !== expect) throw new PublishConflictError(model, expect, head);
          }
          if (fields.parent != null && fields.parent !== latest) {
            if (options.expect === undefined || !isStandbyRoot(ref, fields.parent)) {
              throw new PublishConflictError(model, fields.parent, latest, 'latest');
            }
          }
          const parent = fields.parent !== undefined ? fields.parent : latest;
          const standby = fields.parent === null && options.expect === undefined && latest !== null;
          return { parent, moveLatest: !held && !standby, held };
        },
        (version, parent) =>
          Manifest.parse({ ...fields, parent, v: 1, model, version, createdAt, files }),
        (version) => {
          claimed = version;
        },
      );
    } catch (error) {
      if (!fault.crashed) await this.abandon(model, upload, claimed);
      throw error;
    }
    if ('sourceDir' in source && source.move === true) {
      // A moved directory is consumed by a successful publish (the files now live in the bucket).
      await rm(source.sourceDir, { recursive: true, force: true });
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

  /** Uploads every file under `uploads/<id>/` (invisible until a ref lists it); returns digests. */
  private async uploadFiles(
    model: string,
    upload: string,
    source: PublishSource,
    fault: FaultPoint,
  ): Promise<ManifestFile[]> {
    await fault.at('staging-created');
    const items =
      'sourceDir' in source
        ? await listFilesRecursive(source.sourceDir)
            .catch((error: unknown) => {
              if (isErrno(error, 'ENOENT', 'ENOTDIR')) {
                throw new ConfigError(`publish: cannot read directory '${source.sourceDir}'`, {
                  cause: error,
                });
              }
              throw error;
            })
            .then((paths) => paths.map((path) => ({ path, source: join(source.sourceDir, path) })))
        : [...source.files];
    if (items.length === 0) throw new ConfigError('publish: there are no files to publish');
    const seen = new Set<string>();
    const checked = items.map((item) => {
      const path = checkRelativePath(item.path);
      if (seen.has(path)) throw new ConfigError(`publish: file '${path}' is listed twice`);
      seen.add(path);
      return { item, path };
    });
    // Several uploads at once: one after another, a version of 28 small files cost 28 round
    // trips, each also waiting for the training that shares this thread (src/concurrent.ts).
    const out = await mapConcurrent(checked, UPLOAD_CONCURRENCY, async ({ item, path }) => {
      const Key = this.key(model, `uploads/${upload}/${path}`);
      if ('source' in item) {
        const digest = await digestFile(item.source).catch((error: unknown) => {
          if (isErrno(error, 'ENOENT', 'EISDIR')) {
            throw new ConfigError(`publish: cannot read '${item.source}'`, { cause: error });
          }
          throw error;
        });
        await putObject(this.client, {
          Bucket: this.bucket,
          Key,
          Body: createReadStream(item.source),
          ContentLength: digest.bytes,
        });
        await fault.at('file-written', { path });
        return { path, ...digest };
      }
      const body = typeof item.data === 'string' ? Buffer.from(item.data) : item.data;
      await putObject(this.client, { Bucket: this.bucket, Key, Body: body });
      await fault.at('file-written', { path });
      return {
        path,
        bytes: body.byteLength,
        sha256: createHash('sha256').update(body).digest('hex'),
      };
    });
    await fault.at('files-synced');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * The commit loop: read the ref, decide (CAS checks), claim the next version number by creating
   * its manifest with `If-None-Match: *`, then write the ref with `If-Match` on the ETag read.
   * Losing either race re-reads and decides again, so the decision always holds at commit time.
   */
  private async commit(
    model: string,
    upload: string,
    fault: FaultPoint,
    decide: (ref: ModelRef) => { parent: ModelVersion | null; moveLatest: boolean; held: boolean },
    manifestOf: (version: ModelVersion, parent: ModelVersion | null) => Manifest,
    onClaim: (version: ModelVersion | null) => void,
  ): Promise<Manifest> {
    let claim: { version: ModelVersion; parent: ModelVersion | null } | null = null;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const { ref, etag } = await this.readRef(model);
      const { parent, moveLatest, held } = decide(ref);
      const newest = Math.max(ref.next - 1, ...ref.versions.map((e) => versionNumber(e.version)));
      if (claim !== null && versionNumber(claim.version) <= newest) {
        // Someone committed a newer version meanwhile: ours must be numbered after it.
        await this.deleteKey(this.manifestKey(model, claim.version));
        claim = null;
        onClaim(null);
      }
      let manifest: Manifest;
      if (claim === null) {
        let n = newest + 1;
        for (;;) {
          const version = formatVersion(n);
          manifest = manifestOf(version, parent);
          const created = await putObject(this.client, {
            Bucket: this.bucket,
            Key: this.manifestKey(model, version),
            Body: manifestText(manifest),
            ContentType: 'application/json',
            IfNoneMatch: '*',
          });
          if (created) break;
          n += 1;
        }
        claim = { version: manifest.version, parent };
        onClaim(manifest.version);
      } else {
        manifest = manifestOf(claim.version, parent);
        if (claim.parent !== parent) {
          // Still invisible (no ref lists it), and the claim makes the key ours.
          await putObject(this.client, {
            Bucket: this.bucket,
            Key: this.manifestKey(model, claim.version),
            Body: manifestText(manifest),
            ContentType: 'application/json',
          });
          claim = { version: claim.version, parent };
        }
      }
      await fault.at('manifest-written', { version: manifest.version });
      const entry: RefEntry = { version: manifest.version, parent, held, upload };
      const latest = moveLatest ? manifest.version : ref.latest;
      const versions = [...ref.versions, entry];
      const expired = new Set<string>(
        expiredVersions(
          versions.map((e) => e.version),
          this.keep,
          { promoted: ref.state.promoted, latest },
        ),
      );
      const next: ModelRef = {
        ...ref,
        next: versionNumber(manifest.version) + 1,
        latest,
        versions: versions.filter((e) => !expired.has(e.version)),
      };
      if (!(await this.writeRef(model, next, etag))) continue;
      await fault.at('version-renamed', { version: manifest.version });
      await fault.at('latest-moved', { version: manifest.version });
      for (const gone of versions.filter((e) => expired.has(e.version))) {
        // After the commit nobody can see them; a failure here only leaves garbage.
        await this.deleteVersionObjects(model, gone).catch(() => undefined);
      }
      // A worker killed mid-publish (SIGKILL, a lost host) left objects no ref will ever list.
      // Two LISTs a publish would be wasted on objects that only count once an hour old: at
      // most one sweep per model per ORPHAN_SWEEP_EVERY_MS from this process.
      const now = this.now().getTime();
      if (now - (this.lastSweep.get(model) ?? -Infinity) >= ORPHAN_SWEEP_EVERY_MS) {
        this.lastSweep.set(model, now);
        await this.sweepOrphans(model).catch(() => undefined);
      }
      return manifest;
    }
    throw new InfraError(
      `${model}: gave up publishing after ${MAX_ROUNDS} lost compare-and-set rounds on ${this.key(model, 'ref.json')}`,
    );
  }

  private async abandon(
    model: string,
    upload: string,
    claimed: ModelVersion | null,
  ): Promise<void> {
    if (claimed !== null)
      await this.deleteKey(this.manifestKey(model, claimed)).catch(() => undefined);
    await deletePrefix(this.client, this.bucket, this.key(model, `uploads/${upload}/`)).catch(
      () => undefined,
    );
  }

  async sweepOrphans(model: string, olderThanMs = ORPHAN_AGE_MS): Promise<number> {
    const { ref } = await this.readRef(model);
    const listedUploads = new Set(ref.versions.map((e) => e.upload));
    const listedVersions = new Set<string>(ref.versions.map((e) => e.version));
    const cutoff = this.now().getTime() - olderThanMs;
    const uploadsPrefix = this.key(model, 'uploads/');
    const versionsPrefix = this.key(model, 'versions/');
    // An upload is an orphan when no ref entry names it and none of its objects is recent.
    const uploads = new Map<string, { keys: string[]; newest: number }>();
    for (const o of await listObjects(this.client, this.bucket, uploadsPrefix)) {
      const id = o.key.slice(uploadsPrefix.length).split('/')[0] ?? '';
      const u = uploads.get(id) ?? { keys: [], newest: 0 };
      u.keys.push(o.key);
      u.newest = Math.max(u.newest, o.lastModified.getTime());
      uploads.set(id, u);
    }
    const doomed: string[] = [];
    for (const [id, u] of uploads) {
      if (!listedUploads.has(id) && u.newest < cutoff) doomed.push(...u.keys);
    }
    // A manifest claimed by a publish that never committed: its version is in no ref entry.
    for (const o of await listObjects(this.client, this.bucket, versionsPrefix)) {
      const version = asVersion(o.key.slice(versionsPrefix.length).split('/')[0] ?? '');
      // A claim is at most seconds old while its publish runs: the age alone tells them apart.
      if (version === null || listedVersions.has(version)) continue;
      if (o.lastModified.getTime() < cutoff) doomed.push(o.key);
    }
    for (const key of doomed) await this.deleteKey(key);
    return doomed.length;
  }

  private async deleteVersionObjects(model: string, entry: RefEntry): Promise<void> {
    await this.deleteKey(this.manifestKey(model, entry.version));
    await deletePrefix(this.client, this.bucket, this.key(model, `uploads/${entry.upload}/`));
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** The model's ref and its ETag ('' when it does not exist yet). */
  private async readRef(model: string): Promise<{ ref: ModelRef; etag: string }> {
    const key = this.key(model, 'ref.json');
    const got = await getObject(this.client, this.bucket, key);
    if (got === null) return { ref: EMPTY_REF, etag: '' };
    const ref = parseStoredJson(
      ModelRef,
      Buffer.from(got.body).toString('utf8'),
      `s3://${this.bucket}/${key}`,
    );
    return { ref, etag: got.etag };
  }

  /** Conditional write of the ref; false when another writer changed it since `etag`. */
  private writeRef(model: string, ref: ModelRef, etag: string): Promise<boolean> {
    return putObject(this.client, {
      Bucket: this.bucket,
      Key: this.key(model, 'ref.json'),
      Body: `${JSON.stringify(ref)}\n`,
      ContentType: 'application/json',
      ...(etag === '' ? { IfNoneMatch: '*' } : { IfMatch: etag }),
    });
  }

  /** Read-modify-write of the ref under compare-and-set; `change` may throw to refuse. */
  private async updateRef<T>(
    model: string,
    change: (ref: ModelRef) => Promise<{ ref: ModelRef; result: T }>,
  ): Promise<T> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const { ref, etag } = await this.readRef(model);
      const { ref: next, result } = await change(ref);
      if (await this.writeRef(model, next, etag)) return result;
    }
    throw new InfraError(`${model}: gave up after ${MAX_ROUNDS} lost compare-and-set rounds`);
  }

  async head(model: string): Promise<ModelVersion | null> {
    checkModelName(model);
    return findHead((await this.readRef(model)).ref);
  }

  async latest(model: string): Promise<ModelVersion | null> {
    checkModelName(model);
    return (await this.readRef(model)).ref.latest;
  }

  async state(model: string): Promise<ModelState> {
    checkModelName(model);
    return (await this.readRef(model)).ref.state;
  }

  async list(
    model?: string,
    onUnreadable?: (problem: UnreadableVersion) => void,
  ): Promise<ModelListing[]> {
    let models: string[];
    if (model !== undefined) {
      checkModelName(model);
      if ((await this.readRef(model)).ref.versions.length === 0) {
        const known = await this.models();
        throw new ConfigError(
          `no model '${model}' in registry ${this.location}` +
            (known.length ? ` (models: ${known.join(', ')})` : ' (it is empty)'),
        );
      }
      models = [model];
    } else {
      models = await this.models();
    }
    const listings: ModelListing[] = [];
    for (const name of models) {
      const { ref } = await this.readRef(name);
      const promoted = new Set<string>(ref.state.promoted);
      const discarded = new Set<string>(ref.state.discarded);
      const versions: VersionSummary[] = [];
      for (const entry of ref.versions) {
        let m: Manifest;
        try {
          m = await this.readManifest(name, entry.version);
        } catch (error) {
          if (!(error instanceof DataError)) throw error;
          onUnreadable?.({ model: name, name: entry.version, problem: error.message });
          continue;
        }
        versions.push({
          version: entry.version,
          parent: m.parent,
          phase: m.phase,
          createdAt: m.createdAt,
          metrics: m.metrics,
          bytes: m.files.reduce((sum, f) => sum + f.bytes, 0),
          promoted: promoted.has(entry.version),
          latest: entry.version === ref.latest,
          held: m.gate?.held === true && !promoted.has(entry.version),
          discarded: discarded.has(entry.version),
        });
      }
      listings.push({ model: name, latest: ref.latest, versions });
    }
    return listings;
  }

  async get(model: string, ref: VersionRef): Promise<Manifest> {
    checkModelName(model);
    const { entry } = await this.resolve(model, ref);
    return this.readManifest(model, entry.version);
  }

  async verify(model: string, ref: VersionRef): Promise<Manifest> {
    checkModelName(model);
    const { entry } = await this.resolve(model, ref);
    const manifest = await this.readManifest(model, entry.version);
    for (const file of manifest.files) {
      await downloadVerified(
        this.client,
        this.bucket,
        this.fileKey(model, entry, file),
        file,
        `${model} ${entry.version}`,
      );
    }
    return manifest;
  }

  async fetch(model: string, ref: VersionRef): Promise<FetchedVersion> {
    checkModelName(model);
    const { entry } = await this.resolve(model, ref);
    const manifest = await this.readManifest(model, entry.version);
    const dir = join(this.cacheDir, this.bucket, ...this.key(model, entry.version).split('/'));
    await fetchIntoCache(
      this.client,
      this.bucket,
      manifest,
      (file) => this.fileKey(model, entry, file),
      dir,
    );
    return { manifest, dir };
  }

  private fileKey(model: string, entry: RefEntry, file: ManifestFile): string {
    return this.key(model, `uploads/${entry.upload}/${file.path}`);
  }

  async promote(model: string, version: ModelVersion, reason?: string): Promise<ModelState> {
    const manifest = await this.get(model, version);
    return this.updateRef(model, async (ref) => {
      let latest = ref.latest;
      if (manifest.gate?.held === true && !ref.state.promoted.includes(version)) {
        if (ref.state.discarded.includes(version)) {
          throw new ConfigError(`${model} ${version} was discarded; it cannot be promoted`);
        }
        const head = findHead(ref);
        if (manifest.parent !== ref.latest || head !== version) {
          throw new ConfigError(
            `${model} ${version} is held, and only the newest held child of latest can be promoted ` +
              `(latest is ${ref.latest ?? 'none'}, the newest held version is ${head ?? 'none'})`,
          );
        }
        await this.verify(model, version);
        latest = version;
      }
      const state: ModelState = {
        ...ref.state,
        promoted: ref.state.promoted.includes(version)
          ? ref.state.promoted
          : [...ref.state.promoted, version],
        history: [...ref.state.history, this.event('promote', version, reason)].slice(-MAX_HISTORY),
      };
      return { ref: { ...ref, latest, state }, result: state };
    });
  }

  async discard(model: string, version: ModelVersion, reason?: string): Promise<ModelState> {
    const manifest = await this.get(model, version);
    return this.updateRef(model, async (ref) => {
      if (manifest.gate?.held !== true || ref.state.promoted.includes(version)) {
        throw new ConfigError(
          `${model} ${version} is not a held version; only versions the publish gate held can be discarded`,
        );
      }
      const state: ModelState = {
        ...ref.state,
        discarded: ref.state.discarded.includes(version)
          ? ref.state.discarded
          : [...ref.state.discarded, version],
        history: [...ref.state.history, this.event('discard', version, reason)].slice(-MAX_HISTORY),
      };
      return { ref: { ...ref, state }, result: state };
    });
  }

  async setLabel(
    model: string,
    label: string,
    version: ModelVersion,
    reason?: string,
  ): Promise<ModelState> {
    const name = checkLabel(model, label);
    const event = (action: StateEvent['action'], v: ModelVersion) => this.event(action, v, reason);
    return this.updateRef(model, async (ref) => {
      if (!ref.versions.some((e) => e.version === version)) {
        throw new ConfigError(
          `cannot label ${model} ${version} '${name}': ${model} has no version ${version} in ${this.location}` +
            ` (a label names a version that is in the registry and verifies)`,
        );
      }
      // The compare-and-set on the ref fails if retention removed the version meanwhile.
      await checkLabelTarget(this, model, name, version);
      const state = relabel(model, ref.state, name, version, event, MAX_HISTORY);
      return { ref: { ...ref, state }, result: state };
    });
  }

  async deleteLabel(model: string, label: string, reason?: string): Promise<ModelState> {
    const name = checkLabel(model, label);
    const event = (action: StateEvent['action'], v: ModelVersion) => this.event(action, v, reason);
    return this.updateRef(model, async (ref) => {
      const state = relabel(model, ref.state, name, null, event, MAX_HISTORY);
      return { ref: { ...ref, state }, result: state };
    });
  }

  async rollback(model: string, version?: ModelVersion, reason?: string): Promise<RollbackResult> {
    checkModelName(model);
    return this.updateRef(model, async (ref) => {
      const from = ref.latest;
      let to = version;
      if (to === undefined) {
        if (from === null)
          throw new ConfigError(`${model} has no latest version to roll back from`);
        to = ref.versions
          .map((e) => e.version)
          .filter((v) => compareVersions(v, from) < 0)
          .at(-1);
        if (to === undefined) {
          throw new ConfigError(`${model}: no version older than ${from} to roll back to`);
        }
      }
      const target = to;
      if (!ref.versions.some((e) => e.version === target)) {
        throw new ConfigError(`${model} has no version ${target} in ${this.location}`);
      }
      // Never point consumers at a version whose files do not match its manifest.
      await this.verify(model, target);
      const event = { ...this.event('rollback', target, reason), from };
      const state: ModelState = {
        ...ref.state,
        history: [...ref.state.history, event].slice(-MAX_HISTORY),
      };
      return { ref: { ...ref, latest: target, state }, result: { from, to: target } };
    });
  }

  manifestPath(model: string, version: ModelVersion): string {
    return `s3://${this.bucket}/${this.manifestKey(model, version)}`;
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
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    const out: string[] = [];
    for (const p of await listKeys(this.client, this.bucket, base, '/')) {
      const name = posix.basename(p.slice(base.length));
      if (!ModelName.safeParse(name).success) continue;
      if ((await this.readRef(name)).ref.versions.length > 0) out.push(name);
    }
    return out.sort();
  }

  private async resolve(model: string, ref: VersionRef): Promise<{ entry: RefEntry }> {
    const { ref: current } = await this.readRef(model);
    let version: ModelVersion;
    if (ref === 'latest') {
      if (current.latest === null) {
        throw new ConfigError(`${model} has no versions in ${this.location}`);
      }
      version = current.latest;
    } else {
      const parsed = ModelVersion.safeParse(ref);
      if (!parsed.success) {
        throw new ConfigError(
          `'${String(ref)}' is not a version (expected e.g. v000001 or 'latest')`,
        );
      }
      version = parsed.data;
    }
    const entry = current.versions.find((e) => e.version === version);
    if (entry === undefined) {
      const versions = current.versions.map((e) => e.version);
      throw new ConfigError(
        `${model} has no version ${version} in ${this.location}` +
          (versions.length ? ` (versions: ${versions.join(', ')})` : ''),
      );
    }
    return { entry };
  }

  private async readManifest(model: string, version: ModelVersion): Promise<Manifest> {
    const key = this.manifestKey(model, version);
    const got = await getObject(this.client, this.bucket, key);
    if (got === null) {
      throw new DataError(
        `${model} ${version}: s3://${this.bucket}/${key} is missing (the ref lists the version, ` +
          'and a publish writes the manifest before the ref, so it was deleted by hand)',
      );
    }
    const manifest = parseStoredJson(
      Manifest,
      Buffer.from(got.body).toString('utf8'),
      `s3://${this.bucket}/${key}`,
    );
    if (manifest.model !== model || manifest.version !== version) {
      throw new DataError(
        `s3://${this.bucket}/${key}: the manifest names ${manifest.model} ${manifest.version}, not ${model} ${version}`,
      );
    }
    return manifest;
  }
}

/** The newest of `latest` and its held children (discarded ones included). */
function findHead(ref: ModelRef): ModelVersion | null {
  if (ref.latest === null) return null;
  let head = ref.latest;
  for (const e of ref.versions) {
    if (compareVersions(e.version, head) > 0 && e.parent === ref.latest && e.held) head = e.version;
  }
  return head;
}

/** True when `version` starts a lineage (no parent) that `latest` does not descend from. */
function isStandbyRoot(ref: ModelRef, version: ModelVersion): boolean {
  const parents = new Map(ref.versions.map((e) => [e.version, e.parent]));
  if (!parents.has(version) || parents.get(version) !== null) return false;
  let at = ref.latest;
  while (at !== null && compareVersions(at, version) > 0) at = parents.get(at) ?? null;
  return at !== version;
}

function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
