import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Path of a file in the shared data folder: `shared/` beside the clone (how CI lays it out),
 * else the workplace's `/work/shared` (a clone made elsewhere, e.g. in a temp dir).
 */
export function sharedDataPath(...parts: string[]): string {
  const beside = join(resolve(__dirname, '..', '..'), 'shared', 'data', ...parts);
  return existsSync(beside) ? beside : join('/work/shared/data', ...parts);
}
