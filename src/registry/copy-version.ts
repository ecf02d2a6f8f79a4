import type { Manifest, ModelVersion } from '../../schemas/manifest';
import type { RegistryStore } from './store';

/**
 * Publishes a copy of `version` (its files and what its publisher said of it) as the root of a
 * new lineage of `toModel` in `to`: what a benchmark or a test needs to run several recurring
 * chains from one offline model, each in a lineage of its own.
 */
export async function copyAsNewLineage(
  from: RegistryStore,
  model: string,
  version: ModelVersion,
  to: RegistryStore,
  toModel: string,
): Promise<Manifest> {
  const fetched = await from.fetch(model, version);
  // The registry's own fields (number, model, time, files, format) are the new publish's to set.
  const { version: _v, model: _m, createdAt: _c, files: _f, v: _fv, ...fields } = fetched.manifest;
  return to.publish(toModel, { sourceDir: fetched.dir }, { ...fields, parent: null });
}
