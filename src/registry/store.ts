import type {
  Manifest,
  ManifestFieldsInput,
  ModelState,
  ModelVersion,
} from '../../schemas/manifest';

/** A version id, or `'latest'` for whatever the model's `latest` pointer names. */
export type VersionRef = ModelVersion | 'latest';

/** One file to publish: copied from `source`, or written from `data`, at `path` in the version. */
export type PublishFile =
  { path: string; source: string } | { path: string; data: Uint8Array | string };

/**
 * What to publish: every file under a directory (e.g. a checkpoint), or an explicit list.
 * With `move: true` the directory is renamed into the registry instead of copied (same file
 * system; falls back to copying across devices), which saves writing a large checkpoint twice:
 * the directory is consumed by a successful publish and put back after a failed one.
 */
export type PublishSource =
  { sourceDir: string; move?: boolean } | { files: readonly PublishFile[] };

/** A version as listed: the manifest's headline plus its mutable flags. */
export interface VersionSummary {
  version: ModelVersion;
  parent: ModelVersion | null;
  phase: Manifest['phase'];
  createdAt: string;
  metrics: Record<string, number>;
  bytes: number;
  promoted: boolean;
  latest: boolean;
  /** Published by the gate as held (and not promoted since): visible, never served. */
  held: boolean;
  /** A held version an operator discarded. */
  discarded: boolean;
}

/**
 * A version directory that could not be listed (no manifest, unreadable or invalid manifest):
 * reported next to the listing instead of failing it.
 */
export interface UnreadableVersion {
  model: string;
  name: string;
  problem: string;
}

/** Options of {@link RegistryStore.publish}. */
export interface PublishOptions {
  /**
   * Compare-and-set: the version the publisher believes is the model's *head*, i.e. the newest
   * of `latest` and the held versions whose parent is `latest` (a held version consumed offsets
   * the served lineage skips). null = the model must have no `latest` yet. When the head is
   * different the publish fails with `PublishConflictError` and nothing is published.
   * @default the manifest's `parent` when it names a version; no check when `parent` is omitted
   * (the version is then the child of whatever is `latest` at commit time) or null
   */
  expect?: ModelVersion | null;
}

/** One model in a listing, versions oldest first. */
export interface ModelListing {
  model: string;
  latest: ModelVersion | null;
  versions: VersionSummary[];
}

/** A version whose files have been checked against the manifest, at a local directory. */
export interface FetchedVersion {
  manifest: Manifest;
  dir: string;
}

/** The outcome of a rollback. */
export interface RollbackResult {
  from: ModelVersion | null;
  to: ModelVersion;
}

/**
 * Storage of versioned, immutable model checkpoints. The filesystem implementation is
 * `openFsRegistry` (src/registry/fs-store.ts); an S3-compatible store can implement the same
 * contract (publish = upload under a staging prefix + conditional put of the manifest;
 * `fetch` = download into a local cache directory and verify).
 *
 * **Fencing (every implementation must provide it).** The chain of served versions never forks:
 * a version is committed only as the child of the version that is `latest` (or the head, see
 * {@link PublishOptions.expect}) *at commit time*, checked and committed atomically
 * (compare-and-set). The filesystem store does the check, the version rename and the move of
 * `latest` under one per-model lock; an object store must do it with conditional writes
 * (e.g. S3 `PutObject` with `If-Match` on the `latest` object's ETag after `If-None-Match: *` on
 * the version's manifest key), never read-then-write. A publisher that loses gets
 * `PublishConflictError` and has published nothing.
 *
 * **Lineages.** A version with `parent: null` (an offline model) starts a new lineage. When the
 * model already has a `latest`, it is published as a *standby*: listed, loadable by id, not
 * `latest`; it becomes part of the served chain when its first child is published with
 * `expect` = the current head (the hand-over CAS), or when an operator rolls back to it.
 * A version whose manifest carries `gate.held: true` is published without moving `latest`.
 */
export interface RegistryStore {
  /** Human-readable location (a directory, a bucket URI), for messages. */
  readonly location: string;
  /**
   * Publishes a new immutable version atomically: either it becomes visible complete, with a
   * manifest whose checksums match its files, or it never appears. Allocates the version id
   * (distinct across concurrent publishers), moves `latest` to it unless a newer version is
   * already latest, applies retention, and returns the manifest.
   */
  publish(
    model: string,
    source: PublishSource,
    fields: ManifestFieldsInput,
    options?: PublishOptions,
  ): Promise<Manifest>;
  /**
   * Every model (or just `model`) with its versions and flags. A version directory whose
   * manifest is missing or invalid is left out and reported through `onUnreadable`.
   */
  list(
    model?: string,
    onUnreadable?: (problem: UnreadableVersion) => void,
  ): Promise<ModelListing[]>;
  /** A version's manifest (not checked against the files; `fetch` does that). */
  get(model: string, version: VersionRef): Promise<Manifest>;
  /** The version `latest` points to, or null for an empty model. */
  latest(model: string): Promise<ModelVersion | null>;
  /** Checks every file against the manifest (size and SHA-256); throws DataError naming the file. */
  verify(model: string, version: VersionRef): Promise<Manifest>;
  /** Verifies a version and returns a local directory holding its files. */
  fetch(model: string, version: VersionRef): Promise<FetchedVersion>;
  /**
   * Marks a version promoted (retention keeps it forever) and records why. Promoting a held
   * version also makes it `latest` (compare-and-set: only the newest held child of `latest`,
   * and not a discarded one), so a workflow following the lineage continues from it.
   */
  promote(model: string, version: ModelVersion, reason?: string): Promise<ModelState>;
  /** Records that a held version is discarded (it stays listed; it can no longer be promoted). */
  discard(model: string, version: ModelVersion, reason?: string): Promise<ModelState>;
  /** The newest of `latest` and the held versions whose parent is `latest`; null when empty. */
  head(model: string): Promise<ModelVersion | null>;
  /**
   * Moves `latest` back to `version`, or by default to the newest version older than the current
   * target, and records why.
   */
  rollback(model: string, version?: ModelVersion, reason?: string): Promise<RollbackResult>;
  /**
   * Points version label `label` at `version` (TF Serving's version labels), atomically with
   * the model's other state. Like TF Serving, which assigns a label only to a version that is
   * loaded, the version must be in the registry and verify; otherwise ConfigError (missing) or
   * DataError (corrupt) naming it, and nothing changes.
   */
  setLabel(
    model: string,
    label: string,
    version: ModelVersion,
    reason?: string,
  ): Promise<ModelState>;
  /** Removes version label `label`; ConfigError when the model has no such label. */
  deleteLabel(model: string, label: string, reason?: string): Promise<ModelState>;
  /** Promotions, version labels and the history of promotions, rollbacks and label changes. */
  state(model: string): Promise<ModelState>;
  /** Where a version's manifest lives (what announcements carry). */
  manifestPath(model: string, version: ModelVersion): string;
}

/** A loaded model that scores events. The caller owns it and must `dispose` it. */
export interface Predictor<E = unknown> {
  readonly version: ModelVersion;
  /** Click probabilities, one per event, in order. */
  predict(events: readonly E[]): Float32Array;
  dispose(): void;
}

/**
 * Turns a verified version directory into a predictor. Injected so the registry does not depend
 * on the checkpoint format (src/model/checkpoint.ts); the composition root wires the real one.
 */
export type ModelLoader<E = unknown> = (dir: string, manifest: Manifest) => Promise<Predictor<E>>;
