import type { KafkaOffsets, Manifest, ModelVersion, SkippedRange } from '../../schemas/manifest';
import { ConfigError } from '../errors';
import type { RegistryStore } from './store';
import { compareVersions } from './version';

/** Where a recurring window (or a retry of one) resumes, read from the registry itself. */
export interface ResumePoint {
  /** The version whose weights to load: the served lineage's `latest` (or the hand-over's). */
  version: ModelVersion;
  /** The head to expect at the next publish (compare-and-set). */
  head: ModelVersion | null;
  /** Offsets to start from: the head's end (held versions' offsets are skipped, not retrained). */
  startOffsets: KafkaOffsets | null;
  /** Held children of `version` whose offsets the next served version skips. */
  skipped: SkippedRange[];
  /** Versions (served and held) newer than `since` in this lineage, oldest first. */
  publishedSince: ModelVersion[];
}

/**
 * Finds where a window that started from `fromVersion` stands, from the registry rather than
 * from the window's last heartbeat (a heartbeat can be lost in an outage while its publish was
 * not): walks parents from `latest` back to `fromVersion`. Every version on that path, every
 * version their manifests skipped and every held child of `latest`, newer than `since`, was
 * published by this lineage since the window began.
 *
 * `supersedes` is the served version a hand-over replaces: while it is still `latest`, nothing
 * of the new lineage was published yet and the window starts from `fromVersion` itself, expecting
 * the old lineage's head.
 *
 * @throws ConfigError when `latest` does not descend from `fromVersion` (an operator rolled back
 * or another lineage was handed over): continuing would fork the chain.
 */
export async function resumePoint(
  registry: RegistryStore,
  model: string,
  fromVersion: ModelVersion,
  options: { since?: ModelVersion; supersedes?: ModelVersion } = {},
): Promise<ResumePoint> {
  const since = options.since ?? fromVersion;
  const latest = await registry.latest(model);
  const head = await registry.head(model);
  if (options.supersedes !== undefined && latest === options.supersedes) {
    // Held children consumed offsets too (the replaced version's, or the new lineage's own
    // first versions): start after the newest of them.
    const skipped = await heldChildren(registry, model, fromVersion);
    const ranges = [...(await heldChildren(registry, model, latest)), ...skipped];
    const last = ranges.sort((a, b) => compareVersions(a.version, b.version)).at(-1);
    return {
      version: fromVersion,
      head,
      startOffsets: last === undefined ? null : last.toOffsets,
      skipped,
      publishedSince: skipped.map((s) => s.version).filter((v) => compareVersions(v, since) > 0),
    };
  }
  if (latest === null) {
    throw new ConfigError(`${model} has no latest version; cannot resume from ${fromVersion}`);
  }
  const published: ModelVersion[] = [];
  let at: ModelVersion = latest;
  while (at !== fromVersion) {
    if (compareVersions(at, fromVersion) < 0) {
      throw new ConfigError(
        `${model}: latest ${latest} does not descend from ${fromVersion} (rolled back or ` +
          'handed over to another lineage); this window stops rather than fork the chain',
      );
    }
    const manifest = await registry.get(model, at);
    published.push(at, ...(manifest.skipped ?? []).map((s) => s.version));
    if (manifest.parent === null) {
      throw new ConfigError(
        `${model}: latest ${latest} does not descend from ${fromVersion}; this window stops ` +
          'rather than fork the chain',
      );
    }
    at = manifest.parent;
  }
  const skipped = await heldChildren(registry, model, latest);
  published.push(...skipped.map((s) => s.version));
  const newest = head === null || head === latest ? await registry.get(model, latest) : null;
  const headManifest = newest ?? (head === null ? null : await registry.get(model, head));
  return {
    version: latest,
    head,
    startOffsets: recurringEnd(headManifest),
    skipped,
    publishedSince: published
      .filter((v) => compareVersions(v, since) > 0)
      .sort(compareVersions)
      .filter((v, i, all) => all.indexOf(v) === i),
  };
}

/** The held children of `version` with their offset ranges, oldest first. */
export async function heldChildren(
  registry: RegistryStore,
  model: string,
  version: ModelVersion,
): Promise<SkippedRange[]> {
  const [listing] = await registry.list(model);
  const out: SkippedRange[] = [];
  for (const summary of listing?.versions ?? []) {
    if (summary.parent !== version || !summary.held) continue;
    const manifest = await registry.get(model, summary.version);
    if (manifest.dataRange.kind !== 'recurring') continue;
    out.push({
      version: summary.version,
      fromOffsets: manifest.dataRange.fromOffsets,
      toOffsets: manifest.dataRange.toOffsets,
    });
  }
  return out;
}

/** A recurring version's end offsets; null for an offline one (it has none). */
function recurringEnd(manifest: Manifest | null): KafkaOffsets | null {
  return manifest?.dataRange.kind === 'recurring' ? manifest.dataRange.toOffsets : null;
}
