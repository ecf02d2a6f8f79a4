import type { ModelVersion } from '../../schemas/manifest';
import type { RegistryStore, VersionSummary } from '../registry/store';
import type { VersionPolicy } from './version-policy';

/** May a listed version be served at all (never a held one nobody promoted, nor a discarded one). */
function servable(v: VersionSummary): boolean {
  return !v.discarded && (!v.held || v.promoted);
}

/**
 * The versions to try, newest first, when the one `policy` asks for cannot be served and the
 * model would otherwise have none: the ones the policy would pick (promoted versions under
 * `promoted`), then every other servable version. A service with an old good version answers;
 * one without any does not, so readiness depends on the registry holding one good version, not
 * on its newest being good.
 */
export async function fallbackCandidates(
  store: RegistryStore,
  model: string,
  policy: VersionPolicy,
  skip: ReadonlySet<ModelVersion>,
): Promise<ModelVersion[]> {
  const [listing] = await store.list(model);
  const versions = (listing?.versions ?? [])
    .filter((v) => servable(v) && !skip.has(v.version))
    .reverse();
  const preferred = policy.kind === 'promoted' ? versions.filter((v) => v.promoted) : [];
  const rest = versions.filter((v) => !preferred.includes(v));
  return [...preferred, ...rest].map((v) => v.version);
}
