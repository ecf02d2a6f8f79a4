import { basename } from 'node:path';
import type { FileSourceConfig } from '../../schemas/data-source';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { sliceRawBatch, type RawBatch } from './raw-batch';
import { InvalidRowPolicy, rebatch, type BatchOptions, type BatchSource } from './source';

/** The options every file reader takes: the file config without its `kind`. */
export type FileSourceOptions = Omit<FileSourceConfig, 'kind'>;

/** ` (records a..b)` when a range is set, for `describe()`. */
export function describeRange(opts: FileSourceOptions): string {
  if (opts.offset === 0 && opts.limit === undefined) return '';
  const end = opts.limit === undefined ? '' : String(opts.offset + opts.limit);
  return ` (records ${opts.offset}..${end})`;
}

/**
 * A file reader as a BatchSource: `readPieces` decodes the files into raw pieces, reporting
 * malformed rows to the policy; each pass starts a fresh policy, so `skipped` counts the
 * current pass.
 */
export function fileBatchSource(
  format: string,
  opts: FileSourceOptions,
  spec: FeatureSpec,
  readPieces: (policy: InvalidRowPolicy) => AsyncIterable<RawBatch>,
): BatchSource {
  let policy = new InvalidRowPolicy(opts.onInvalid);
  return {
    spec,
    get skipped() {
      return policy.skipped;
    },
    get skippedRows() {
      return policy.reasons;
    },
    describe: () =>
      `${format} ${opts.path.map((p) => basename(p)).join(',')}${describeRange(opts)}`,
    batches(batchOpts: BatchOptions) {
      policy = new InvalidRowPolicy(opts.onInvalid);
      return rebatch(readPieces(policy), spec, batchOpts);
    },
    rawBatches({ startRow = 0 }) {
      policy = new InvalidRowPolicy(opts.onInvalid);
      return skipRows(readPieces(policy), startRow);
    },
  };
}

/** The pieces after the first `startRow` rows. */
export async function* skipRows(
  pieces: AsyncIterable<RawBatch>,
  startRow: number,
): AsyncGenerator<RawBatch> {
  let toSkip = startRow;
  for await (const raw of pieces) {
    if (toSkip >= raw.size) {
      toSkip -= raw.size;
      continue;
    }
    yield toSkip > 0 ? sliceRawBatch(raw, toSkip, raw.size) : raw;
    toSkip = 0;
  }
}
