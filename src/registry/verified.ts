import { mapConcurrent } from '../concurrent';
import type { ModelVersion } from '../../schemas/manifest';
import { DataError } from '../errors';
import type { ModelListing, RegistryStore } from './store';

/**
 * Which versions can be trusted: a version *verifies* when every file matches its manifest's
 * size and SHA-256 (`RegistryStore.verify`). A byte flipped on disk or in a bucket makes the
 * version unusable, but the registry keeps older versions that still verify; these helpers find
 * them, so resuming (and listing) never depends on a person noticing.
 */

/** A version that failed verification, and why (the store's message names the file). */
export interface FailedVersion {
  version: ModelVersion;
  problem: string;
}

/**
 * Null when `version` verifies, else what is wrong with it. Only a verification failure (a
 * `DataError`: checksum mismatch, missing file) is an answer; any other error (the store is
 * unreachable) is thrown, since it says nothing about the version.
 */
export async function verificationProblem(
  registry: RegistryStore,
  model: string,
  version: ModelVersion,
): Promise<string | null> {
  try {
    await registry.verify(model, version);
    return null;
  } catch (error) {
    if (error instanceof DataError) return error.message;
    throw error;
  }
}

/** The outcome of {@link newestVerifiedAncestor}. */
export interface VerifiedAncestor {
  /** The newest version on the parent chain that verifies. */
  version: ModelVersion;
  /** The versions passed over on the way, newest first. */
  failed: FailedVersion[];
}

/**
 * Walks the parent chain from `from` (itself included) to the newest version whose files
 * verify. A version whose manifest cannot be read ends the walk like one that fails.
 * @throws DataError naming every version tried when none on the chain verifies.
 */
export async function newestVerifiedAncestor(
  registry: RegistryStore,
  model: string,
  from: ModelVersion,
): Promise<VerifiedAncestor> {
  const failed: FailedVersion[] = [];
  let at: ModelVersion | null = from;
  while (at !== null) {
    const problem = await verificationProblem(registry, model, at);
    if (problem === null) return { version: at, failed };
    failed.push({ version: at, problem });
    at = (await registry.get(model, at)).parent;
  }
  throw new DataError(
    `${model}: no version from ${from} back to its lineage's root verifies ` +
      `(${failed.map((f) => `${f.version}: ${f.problem}`).join('; ')})`,
  );
}

/**
 * Verifies every version of `listings`, `concurrency` at a time (checksumming is I/O bound).
 * Returns the problem of each version that fails, keyed `model/version`.
 * @default concurrency 4
 */
export async function failedVersions(
  registry: RegistryStore,
  listings: readonly ModelListing[],
  concurrency = 4,
): Promise<Map<string, string>> {
  const todo = listings.flatMap((l) => l.versions.map((v) => ({ model: l.model, v: v.version })));
  const failed = new Map<string, string>();
  await mapConcurrent(todo, concurrency, async (item) => {
    const problem = await verificationProblem(registry, item.model, item.v);
    if (problem !== null) failed.set(`${item.model}/${item.v}`, problem);
  });
  return failed;
}
