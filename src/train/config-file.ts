import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { DataSourceConfig } from '../../schemas/data-source';
import { parseTrainConfig, type TrainConfig } from '../../schemas/train-config';
import { ConfigError } from '../errors';

/**
 * Reads a training config file (JSON) the way `agp train` does: `edit` may change the raw object
 * (command-line flags) before it is validated; every error names the file and the field. Relative
 * paths in it (`data.*.path`, `data.*.dir`, `outDir`) are resolved against the config file's
 * directory, not the working directory, so a config means the same from anywhere; each data
 * file or directory must exist, and train and test must not read the same rows of a file.
 */
export async function readTrainConfigFile(
  file: string,
  edit: (raw: Record<string, unknown>) => Record<string, unknown> = (raw) => raw,
): Promise<TrainConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`${file}: no such file (--config)`);
    throw new ConfigError(`${file}: cannot read the config: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${file}: a training config is a JSON object`);
  }
  const config = parseTrainConfig(
    edit(raw as Record<string, unknown>),
    `training config ${file}`,
    file,
  );
  return resolveConfigPaths(config, file);
}

/** `config` with its relative paths resolved against `file`'s directory, each data path checked. */
export function resolveConfigPaths(config: TrainConfig, file: string): TrainConfig {
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const source = (s: DataSourceConfig, field: string): DataSourceConfig => {
    if ('path' in s) {
      const paths = s.path.map(abs);
      paths.forEach((p, i) => mustExist(p, `${field}.path[${i}]`, file, 'file'));
      return { ...s, path: paths };
    }
    if ('dir' in s) {
      const dir = abs(s.dir);
      mustExist(dir, `${field}.dir`, file, 'directory');
      return { ...s, dir };
    }
    return s;
  };
  const train = source(config.data.train, 'data.train');
  const test = config.data.test === undefined ? undefined : source(config.data.test, 'data.test');
  if (test !== undefined) refuseOverlap(['data.train', train], ['data.test', test], file);
  const validation =
    config.data.validation === undefined
      ? undefined
      : source(config.data.validation, 'data.validation');
  if (validation !== undefined) {
    refuseOverlap(['data.train', train], ['data.validation', validation], file);
    if (test !== undefined) {
      refuseOverlap(['data.validation', validation], ['data.test', test], file);
    }
  }
  return {
    ...config,
    data: {
      ...config.data,
      train,
      ...(test === undefined ? {} : { test }),
      ...(validation === undefined ? {} : { validation }),
    },
    ...(config.outDir === undefined ? {} : { outDir: abs(config.outDir) }),
  };
}

function mustExist(path: string, field: string, file: string, what: 'file' | 'directory'): void {
  if (!existsSync(path)) throw new ConfigError(`${path}: no such ${what} (${field} in ${file})`);
  const isDir = statSync(path).isDirectory();
  if (what === 'file' && isDir) {
    throw new ConfigError(`${path}: is a directory, expected a file (${field} in ${file})`);
  }
  if (what === 'directory' && !isDir) {
    throw new ConfigError(`${path}: is a file, expected a directory (${field} in ${file})`);
  }
}

/** Records `[from, to)` a file source reads (`to` Infinity without a limit). */
function recordRange(s: { offset: number; limit?: number | undefined }): [number, number] {
  return [s.offset, s.limit === undefined ? Infinity : s.offset + s.limit];
}

/**
 * Refuses a config whose test (or validation) rows are training rows: the same files, and
 * overlapping record ranges (e.g. a misspelt `limit` on train, so it reads to the end, past the test's `offset`).
 * Its test figures would be of rows the model has seen: a fake result.
 */
function refuseOverlap(
  [aName, a]: [string, DataSourceConfig],
  [bName, b]: [string, DataSourceConfig],
  file: string,
): void {
  if (!('path' in a) || !('path' in b) || a.kind !== b.kind) return;
  if (a.path.join('\n') !== b.path.join('\n')) return;
  const [a0, a1] = recordRange(a);
  const [b0, b1] = recordRange(b);
  if (Math.max(a0, b0) >= Math.min(a1, b1)) return;
  const show = ([x, y]: [number, number]) => `${x}..${y === Infinity ? 'end' : y - 1}`;
  const short = (name: string) => name.replace('data.', '');
  throw new ConfigError(
    `${file}: ${aName} and ${bName} read the same rows of ${a.path.join(', ')} ` +
      `(${short(aName)} records ${show([a0, a1])}, ${short(bName)} records ${show([b0, b1])}): ` +
      `the ${short(bName)} figures would be of rows the model trained on; give ${aName} a ` +
      `"limit" and ${bName} the same "offset", or a separate file`,
  );
}
