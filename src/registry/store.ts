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
  publish(model: string, source: PublishSource, fields: ManifestFieldsInput): Promise<Manifest>;
  /** Every model (or just `model`) with its versions and flags. */
  list(model?: string): Promise<ModelListing[]>;
  /** A version's manifest (not checked against the files; `fetch` does that). */
  get(model: string, version: VersionRef): Promise<Manifest>;
  /** The version `latest` points to, or null for an empty model. */
  latest(model: string): Promise<ModelVersion | null>;
  /** Checks every file against the manifest (size and SHA-256); throws DataError naming the file. */
  verify(model: string, version: VersionRef): Promise<Manifest>;
  /** Verifies a version and returns a local directory holding its files. */
  fetch(model: string, version: VersionRef): Promise<FetchedVersion>;
  /** Marks a version promoted (retention keeps it forever) and records why. */
  promote(model: string, version: ModelVersion, reason?: string): Promise<ModelState>;
  /**
   * Moves `latest` back to `version`, or by default to the newest version older than the current
   * target, and records why.
   */
  rollback(model: string, version?: ModelVersion, reason?: string): Promise<RollbackResult>;
  /** Promotions and the history of promotions and rollbacks. */
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
