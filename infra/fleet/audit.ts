import type { Manifest } from '../../schemas/manifest';
import type { RegistryStore } from '../../src/registry/store';

/** The manifests of a model's recurring versions (served and held), oldest first. */
export async function recurringManifests(
  registry: RegistryStore,
  model: string,
): Promise<Manifest[]> {
  const [listing] = await registry.list(model);
  const manifests: Manifest[] = [];
  for (const v of listing?.versions ?? []) {
    if (v.phase === 'recurring') manifests.push(await registry.get(model, v.version));
  }
  return manifests;
}

/**
 * Exactly-once across a fleet, from the manifests themselves: offsets trained twice (in more
 * than one version) and offsets below `ends` (per partition) that no version trained.
 */
export function duplicatedAndLost(
  manifests: readonly Manifest[],
  topic: string,
  ends: ReadonlyMap<number, number>,
): { duplicated: number; lost: number } {
  let duplicated = 0;
  let lost = 0;
  for (const [partition, end] of ends) {
    const seen = new Uint8Array(end);
    for (const m of manifests) {
      if (m.dataRange.kind !== 'recurring') continue;
      const from = Number(m.dataRange.fromOffsets[topic]?.[String(partition)] ?? 0);
      const to = Number(m.dataRange.toOffsets[topic]?.[String(partition)] ?? from);
      for (let o = from; o < Math.min(to, end); o++) {
        if (seen[o] === 1) duplicated++;
        seen[o] = 1;
      }
    }
    lost += seen.reduce((n, s) => n + (s === 0 ? 1 : 0), 0);
  }
  return { duplicated, lost };
}
