import type { Manifest } from '../../schemas/manifest';
import type { RegistryStore } from '../registry/store';
import { compareVersions } from '../registry/version';
import { ConfigError } from '../errors';

/** The newest version a daily run published for a nominal time, and whether it is served. */
export interface DailyVersionFound {
  manifest: Manifest;
  latest: boolean;
  /** Published held (its judgement failed) and not promoted since. */
  held: boolean;
}

/**
 * The newest offline version whose window was resolved at `nominalTime` (ISO 8601), or null:
 * one version per model and nominal time, so a repeated catch-up returns it instead of training
 * a duplicate. Reads the manifests of the model's offline versions, newest first.
 */
export async function findDailyVersion(
  registry: RegistryStore,
  model: string,
  nominalTime: string,
): Promise<DailyVersionFound | null> {
  const nominal = Date.parse(nominalTime);
  // A model with no version yet is a ConfigError of `list`: no version for any time.
  const [listing] = await registry.list(model).catch((error: unknown) => {
    if (error instanceof ConfigError) return [];
    throw error;
  });
  if (listing === undefined) return null;
  const offline = listing.versions
    .filter((v) => v.phase === 'offline')
    .sort((a, b) => compareVersions(b.version, a.version));
  for (const summary of offline) {
    const manifest = await registry.get(model, summary.version);
    if (manifest.window && Date.parse(manifest.window.nominalTime) === nominal) {
      return { manifest, latest: summary.latest, held: summary.held };
    }
  }
  return null;
}
