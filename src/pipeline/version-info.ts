import type { KafkaOffsets, Manifest } from '../../schemas/manifest';
import { compareVersions } from '../registry/version';
import type { RegistryStore, VersionRef } from '../registry/store';

/** What workflows need to know about a version: small JSON. */
export interface VersionDescription {
  model: string;
  version: string;
  phase: Manifest['phase'];
  parent: string | null;
  metrics: Record<string, number>;
  /** Next offsets to consume after this version; empty for an offline version. */
  offsets: KafkaOffsets;
}

/** The workflow-facing description of a manifest. */
export function describeManifest(manifest: Manifest): VersionDescription {
  return {
    model: manifest.model,
    version: manifest.version,
    phase: manifest.phase,
    parent: manifest.parent,
    metrics: manifest.metrics,
    offsets: manifest.dataRange.kind === 'recurring' ? manifest.dataRange.toOffsets : {},
  };
}

/** Describes a version (or `latest`). */
export async function describeVersion(
  registry: RegistryStore,
  model: string,
  version: VersionRef,
): Promise<VersionDescription> {
  return describeManifest(await registry.get(model, version));
}

/**
 * The model the recurring phase serves: its newest `recurring` version, else `latest` (a model
 * that has only offline versions so far); null for a model with no version at all. Not simply
 * `latest`: publishing a daily candidate moves `latest` before anyone decided to use it.
 */
export async function servingVersion(
  registry: RegistryStore,
  model: string,
): Promise<VersionDescription | null> {
  const listing = (await registry.list()).find((m) => m.model === model);
  if (!listing || listing.versions.length === 0) return null;
  const recurring = listing.versions
    .filter((v) => v.phase === 'recurring')
    .sort((a, b) => compareVersions(a.version, b.version));
  const newest = recurring.at(-1)?.version ?? listing.latest;
  return newest === null ? null : describeVersion(registry, model, newest);
}
