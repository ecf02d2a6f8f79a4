import type { ModelVersion } from '../../schemas/manifest';
import { compareVersions } from './version';

/**
 * The versions retention deletes: everything but the `keep` newest, the promoted ones and
 * `latest`'s target (which may be old after a rollback). Pure, so the policy is tested on its own.
 */
export function expiredVersions(
  versions: readonly ModelVersion[],
  keep: number,
  retained: { promoted: readonly ModelVersion[]; latest: ModelVersion | null },
): ModelVersion[] {
  const newestFirst = [...versions].sort((a, b) => compareVersions(b, a));
  const spared = new Set<string>(retained.promoted);
  if (retained.latest !== null) spared.add(retained.latest);
  return newestFirst.slice(keep).filter((v) => !spared.has(v));
}
