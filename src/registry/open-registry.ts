import { join } from 'node:path';
import { RegistryLocation, type RegistryLocationInput } from '../../schemas/registry-config';
import { parseOrThrow } from '../../schemas/zod-errors';
import { ConfigError } from '../errors';
import { openFsRegistry } from './fs-store';
import type { PublishFaults } from './fs-publish';
import type { Announcer } from './announcer';
import { openS3Registry } from './s3-store';
import type { RegistryStore } from './store';

/** Options of {@link openRegistry} that are not configuration. */
export interface OpenRegistryOptions {
  announcer?: Announcer;
  faults?: PublishFaults;
  now?: () => Date;
}

/** Opens the registry a location names: the filesystem store or the S3 store. */
export async function openRegistry(
  location: RegistryLocationInput,
  options: OpenRegistryOptions = {},
): Promise<RegistryStore> {
  const parsed = parseOrThrow(RegistryLocation, location, 'registry location');
  if (parsed.kind === 's3') {
    const { kind: _kind, ...config } = parsed;
    return openS3Registry(config, options);
  }
  const { kind: _kind, ...config } = parsed;
  return openFsRegistry(config, options);
}

/**
 * The registry location from the environment: `AGP_REGISTRY=s3://bucket/prefix` selects S3,
 * with the endpoint from `AGP_S3_ENDPOINT` or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, the
 * region from `AWS_REGION` / `AWS_DEFAULT_REGION` and credentials from the AWS SDK's default
 * chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...). Any other value of `AGP_REGISTRY`
 * is a directory; unset, the filesystem registry under `dataDir/registry`.
 *
 * @param root - the filesystem registry's root when AGP_REGISTRY is unset (e.g. a --root flag)
 */
export function registryLocationFromEnv(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
  root?: string,
): RegistryLocation {
  const value = env['AGP_REGISTRY']?.trim();
  if (root !== undefined || value === undefined || value === '') {
    return RegistryLocation.parse({ kind: 'fs', root: root ?? join(dataDir, 'registry') });
  }
  if (!value.startsWith('s3://')) return RegistryLocation.parse({ kind: 'fs', root: value });
  const rest = value.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  const endpoint = env['AGP_S3_ENDPOINT'] ?? env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  const pathStyle = env['AGP_S3_PATH_STYLE'];
  const parsed = RegistryLocation.safeParse({
    kind: 's3',
    bucket,
    prefix,
    ...(endpoint ? { endpoint } : {}),
    region: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    ...(pathStyle === undefined
      ? {}
      : { forcePathStyle: pathStyle !== 'false' && pathStyle !== '0' }),
    cacheDir: join(dataDir, 'registry-cache'),
  });
  if (!parsed.success) {
    throw new ConfigError(
      `AGP_REGISTRY='${value}': ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} ` +
        '(expected s3://bucket/prefix, or a directory)',
    );
  }
  return parsed.data;
}
