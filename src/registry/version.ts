import { ModelVersion } from '../../schemas/manifest';

/** The version id of number `n` (1-based): `v000001`. */
export function formatVersion(n: number): ModelVersion {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`version number must be ≥ 1, got ${n}`);
  return ModelVersion.parse(`v${String(n).padStart(6, '0')}`);
}

/** The number of a version id (`v000042` → 42). */
export function versionNumber(version: ModelVersion): number {
  return Number(version.slice(1));
}

/** Orders versions oldest first; use it instead of string order (ids can outgrow six digits). */
export function compareVersions(a: ModelVersion, b: ModelVersion): number {
  return versionNumber(a) - versionNumber(b);
}

/** `name` as a version id when it is one (a directory listing may hold anything), else null. */
export function asVersion(name: string): ModelVersion | null {
  const parsed = ModelVersion.safeParse(name);
  return parsed.success ? parsed.data : null;
}
