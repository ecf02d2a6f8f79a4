import type { ModelLoader, Predictor, RegistryStore, VersionRef } from './store';

/**
 * Verifies a version (checksums) and turns it into a predictor with the injected loader. The
 * caller owns the predictor and disposes it.
 */
export async function loadVersion<E>(
  store: RegistryStore,
  model: string,
  version: VersionRef,
  loader: ModelLoader<E>,
): Promise<Predictor<E>> {
  const { dir, manifest } = await store.fetch(model, version);
  return loader(dir, manifest);
}
