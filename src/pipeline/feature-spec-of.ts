import { FeatureSpec } from '../../schemas/feature-spec';
import type { Manifest } from '../../schemas/manifest';
import { DataError } from '../errors';

/** What a version's manifest `config` holds: the training config and the feature spec. */
export interface VersionConfig {
  train: unknown;
  features: FeatureSpec;
}

/**
 * The feature spec stored in a version's manifest: the recurring phase decodes click events
 * with it, so a value means the same embedding row online and offline.
 * @throws DataError when it is missing or malformed.
 */
export function featureSpecOfManifest(manifest: Manifest): FeatureSpec {
  const config = manifest.config as Partial<VersionConfig> | undefined;
  const parsed = FeatureSpec.safeParse(config?.features);
  if (!parsed.success) {
    throw new DataError(
      `${manifest.model} ${manifest.version}: manifest config.features is missing or not a feature spec (was it published by publishOfflineModel?)`,
    );
  }
  return parsed.data;
}
