import { z } from 'zod';
import { ModelName, ModelVersion } from '../schemas/manifest';
import { parseOrThrow } from '../schemas/zod-errors';
import { DiscardInput, PromoteInput, type VersionInfo } from '../schemas/workflow-io';
import { describeVersion, servingVersion } from '../src/pipeline/version-info';
import type { RegistryStore } from '../src/registry/store';
import { toFailure } from './failure';

/** Dependencies of the registry activities. */
export interface RegistryDeps {
  registry: RegistryStore;
}

const ModelRef = z.object({ model: ModelName });

/** Activities that read or change the model registry on behalf of workflows. */
export function createRegistryActivities({ registry }: RegistryDeps) {
  return {
    /** Promotes a version (retention keeps it) and returns its description. */
    async promoteVersion(raw: PromoteInput): Promise<VersionInfo> {
      try {
        const input = parseOrThrow(PromoteInput, raw, 'promoteVersion input');
        const version = parseOrThrow(ModelVersion, input.version, 'version');
        await registry.promote(input.model, version, input.reason);
        return await describeVersion(registry, input.model, version);
      } catch (error) {
        throw toFailure(error);
      }
    },

    /** Discards a version the publish gate held and returns its description. */
    async discardVersion(raw: DiscardInput): Promise<VersionInfo> {
      try {
        const input = parseOrThrow(DiscardInput, raw, 'discardVersion input');
        const version = parseOrThrow(ModelVersion, input.version, 'version');
        await registry.discard(input.model, version, input.reason);
        return await describeVersion(registry, input.model, version);
      } catch (error) {
        throw toFailure(error);
      }
    },

    /** The version the recurring phase serves (newest recurring, else latest); null when none. */
    async describeServingVersion(raw: { model: string }): Promise<VersionInfo | null> {
      try {
        const { model } = parseOrThrow(ModelRef, raw, 'describeServingVersion input');
        return await servingVersion(registry, model);
      } catch (error) {
        throw toFailure(error);
      }
    },
  };
}

/** The registry activities' type, for `proxyActivities`. */
export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
