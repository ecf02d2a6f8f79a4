import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DataSourceConfigInput } from '../../../schemas/data-source';
import {
  describeWindow,
  type FileWindow,
  type ResolvedWindow,
  type WindowFile,
} from '../../../schemas/training-window';
import { ConfigError, DataError } from '../../errors';
import { expandDate, windowDates } from './calendar';
import type { ResolvedTrainingData } from './resolved-data';

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `*` and `?` of a file-name pattern as a RegExp. */
function globRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** The files of one partition path (a file name pattern may hold `*` and `?`), sorted. */
async function partitionFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path);
  if (/[*?]/.test(dir)) {
    throw new ConfigError(`window path '${path}': wildcards are allowed in the file name only`);
  }
  if (!/[*?]/.test(name)) {
    const s = await stat(path).catch(() => null);
    return s?.isFile() ? [path] : [];
  }
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return [];
    throw e;
  });
  const re = globRegExp(name);
  return entries
    .filter((e) => e.isFile() && re.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Expands a date-partitioned file window at a nominal time: the `days` days before the nominal
 * local date in the window's time zone, the newest `testDays` of them the test split. Each file
 * is listed with its size and sha256, so the manifest pins exactly what was read.
 *
 * @throws DataError naming the nominal time, the window's dates and every missing day with its
 *   path (unless `missing: 'skip'`), or naming the window when its training or test part has
 *   no file.
 */
export async function resolveFileWindow(
  window: FileWindow,
  nominalMs: number,
): Promise<ResolvedTrainingData> {
  const dates = windowDates(nominalMs, window.days, window.timeZone);
  const testFrom = dates.length - window.testDays;
  const files: WindowFile[] = [];
  const missingDates: string[] = [];
  const missingPaths: string[] = [];
  for (const [i, date] of dates.entries()) {
    const path = expandDate(window.path, date);
    const found = await partitionFiles(path);
    if (found.length === 0) {
      missingDates.push(date);
      missingPaths.push(path);
      continue;
    }
    for (const file of found) {
      const { size } = await stat(file);
      files.push({
        path: file,
        date,
        split: i >= testFrom ? 'test' : 'train',
        bytes: size,
        sha256: await sha256(file),
      });
    }
  }
  const nominal = new Date(nominalMs).toISOString();
  const fromDate = dates[0] as string;
  const toDate = dates[dates.length - 1] as string;
  if (missingDates.length > 0 && window.missing === 'error') {
    // Every missing day at once, with the window it belongs to: one run names all the gaps.
    throw new DataError(
      `${describeWindow(window)} at nominal time ${nominal} (dates ${fromDate}..${toDate}): ` +
        `${missingDates.length} of ${dates.length} days missing: ` +
        missingDates.map((d, i) => `${d} (no file matches ${missingPaths[i]})`).join(', ') +
        "; set missing: 'skip' to train without them",
    );
  }
  for (const split of ['train', 'test'] as const) {
    if (!files.some((f) => f.split === split)) {
      throw new DataError(
        `empty window: ${describeWindow(window)} at nominal time ${nominal} ` +
          `(${fromDate}..${toDate}) has no ${split} file` +
          (missingDates.length > 0 ? ` (missing: ${missingDates.join(', ')})` : ''),
      );
    }
  }
  const source = (split: 'train' | 'test'): DataSourceConfigInput =>
    ({
      ...window.reader,
      kind: window.kind,
      path: files.filter((f) => f.split === split).map((f) => f.path),
    }) as DataSourceConfigInput;
  const resolved: ResolvedWindow = {
    kind: 'files',
    format: window.kind,
    template: window.path,
    timeZone: window.timeZone,
    nominalTime: nominal,
    fromDate,
    toDate,
    files,
    missingDates,
  };
  const trainFiles = files.filter((f) => f.split === 'train').length;
  return {
    train: source('train'),
    test: source('test'),
    window: resolved,
    summary:
      `${window.kind} ${fromDate}..${toDate} (${window.timeZone}): ${trainFiles} train and ` +
      `${files.length - trainFiles} test files` +
      (missingDates.length > 0 ? `, ${missingDates.length} missing days skipped` : ''),
  };
}
