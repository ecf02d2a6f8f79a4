import { z } from 'zod';
import { ModelName, ModelPhase, ModelVersion } from './manifest';

/**
 * Version 1 of the message announcing a published version on the registry topic (keyed by model,
 * so a model's announcements stay in order on one partition). It carries enough to decide
 * whether to fetch (metrics, phase) and where the manifest is; consumers still verify the version
 * through the registry before using it.
 */
export const RegistryAnnouncementV1 = z.object({
  v: z.literal(1),
  model: ModelName,
  version: ModelVersion,
  parent: ModelVersion.nullable(),
  phase: ModelPhase,
  metrics: z.record(z.string().min(1), z.number()),
  /** Where the manifest lives: a file path for the filesystem store, a URI for an object store. */
  manifestPath: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
});

/** An announcement, discriminated on its format version `v`. */
export const RegistryAnnouncement = z.discriminatedUnion('v', [RegistryAnnouncementV1]);
export type RegistryAnnouncement = z.infer<typeof RegistryAnnouncement>;
