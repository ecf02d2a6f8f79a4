import type { FileSourceConfig } from '../../schemas/data-source';

/** The options every file reader takes: the file config without its `kind`. */
export type FileSourceOptions = Omit<FileSourceConfig, 'kind'>;

/** ` (records a..b)` when a range is set, for `describe()`. */
export function describeRange(opts: FileSourceOptions): string {
  if (opts.offset === 0 && opts.limit === undefined) return '';
  const end = opts.limit === undefined ? '' : String(opts.offset + opts.limit);
  return ` (records ${opts.offset}..${end})`;
}
