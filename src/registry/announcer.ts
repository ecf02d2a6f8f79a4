import type { Manifest } from '../../schemas/manifest';
import { InfraError } from '../errors';

/** Tells consumers that a version was published (src/registry/kafka-announcer.ts sends it to Kafka). */
export interface Announcer {
  announce(manifest: Manifest, manifestPath: string): Promise<void>;
}

/**
 * The version was published and is durable, but announcing it failed. Retrying the publish
 * would create a second version; retry `announce(error.manifest, …)` instead.
 */
export class AnnouncementError extends InfraError {
  constructor(
    readonly manifest: Manifest,
    cause: unknown,
  ) {
    super(
      `${manifest.model} ${manifest.version} was published, but announcing it failed: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}
