import { z } from 'zod';

/** Configuration of the model registry. */
export const RegistryConfig = z.object({
  /**
   * Root directory of the filesystem registry.
   * @default '.data/registry'
   */
  root: z.string().min(1).default('.data/registry'),
  /**
   * How many of the newest versions of each model retention keeps (promoted versions and
   * `latest`'s target are kept in addition).
   * @default 10
   */
  keep: z.number().int().min(1).default(10),
  /**
   * Kafka topic on which publishes are announced.
   * @default 'agp.registry'
   */
  topic: z.string().min(1).default('agp.registry'),
});
export type RegistryConfig = z.infer<typeof RegistryConfig>;
export type RegistryConfigInput = z.input<typeof RegistryConfig>;
