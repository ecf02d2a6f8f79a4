import type { KafkaOffsets, Manifest } from '../../schemas/manifest';
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
 * The model the recurring phase serves: `latest`, null for a model with no version at all. A
 * daily candidate (a new lineage) is published as a standby and does not move `latest` until it
 * is handed over, and a version the publish gate held never does, so `latest` is what is served.
 */
export async function servingVersion(
  registry: RegistryStore,
  model: string,
): Promise<VersionDescription | null> {
  const listing = (await registry.list()).find((m) => m.model === model);
  if (!listing || listing.latest === null) return null;
  return describeVersion(registry, model, listing.latest);
}
