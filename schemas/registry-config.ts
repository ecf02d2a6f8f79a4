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

/** An S3 bucket name as S3 accepts it (3–63 lowercase letters, digits, dots, hyphens). */
const BucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3–63 of a-z 0-9 . -)');

/** Configuration of the registry on S3-compatible object storage. */
export const S3RegistryConfig = z.object({
  bucket: BucketName,
  /**
   * Key prefix under which every model lives (no leading or trailing '/').
   * @default ''
   */
  prefix: z
    .string()
    .regex(/^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/, 'a key prefix like "agp/registry"')
    .default(''),
  /** Endpoint of an S3-compatible server (e.g. http://127.0.0.1:9000); AWS when omitted. */
  endpoint: z.string().url().optional(),
  /** @default 'us-east-1' */
  region: z.string().min(1).default('us-east-1'),
  /**
   * Path-style addressing (`endpoint/bucket/key`), which a local server needs.
   * @default true when `endpoint` is set
   */
  forcePathStyle: z.boolean().optional(),
  /** Static credentials; when omitted the AWS SDK's default chain (AWS_ACCESS_KEY_ID, ...) is used. */
  credentials: z
    .object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) })
    .optional(),
  /**
   * Local directory into which `fetch` downloads and verifies versions.
   * @default '.data/registry-cache'
   */
  cacheDir: z.string().min(1).default('.data/registry-cache'),
  /** As {@link RegistryConfig}'s `keep`. @default 10 */
  keep: z.number().int().min(1).default(10),
});
export type S3RegistryConfig = z.infer<typeof S3RegistryConfig>;
export type S3RegistryConfigInput = z.input<typeof S3RegistryConfig>;

/** Which registry to open: the filesystem one (the default) or one on S3. */
export const RegistryLocation = z.discriminatedUnion('kind', [
  RegistryConfig.extend({ kind: z.literal('fs') }),
  S3RegistryConfig.extend({ kind: z.literal('s3') }),
]);
export type RegistryLocation = z.infer<typeof RegistryLocation>;
export type RegistryLocationInput = z.input<typeof RegistryLocation>;
