import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SplitConfig } from '../../schemas/split';
import { BadValue, epochMillis } from '../../src/data/derive';
import { timeBounds, timePart, type SplitPart } from '../../src/data/split';

/**
 * Writes the rows of each part of a split as train.csv, validation.csv and test.csv (same
 * header), so the hand-written config and the Python baselines read exactly the rows the
 * suggested config's `data.split` (or offset/limit) gives. The bench's CSV logs have no quoted
 * fields, so a line splits on commas.
 */

/** Rows per part. */
export type PartRows = Record<SplitPart, number>;

/**
 * The part of every data line by the time split: the same functions the split source uses
 * (src/data/split.ts), over the column `split.by`.
 */
function timeParts(header: string[], lines: readonly string[], split: SplitConfig): SplitPart[] {
  const col = header.indexOf(split.by as string);
  if (col < 0) throw new Error(`split column '${split.by}' is not in the header`);
  const times = lines.map((l) => {
    const ms = epochMillis(l.split(',')[col], split.unit ?? 's');
    if (ms === null || ms instanceof BadValue) throw new Error(`bad time in line: ${l}`);
    return ms;
  });
  const bounds = timeBounds(split, Float64Array.from(times).sort());
  return times.map((t) => timePart(t, bounds) ?? ('none' as SplitPart));
}

/** Parts by position: the oldest `train` share, then validation, then test (offset/limit). */
export function positionParts(rows: number, train = 0.8, validation = 0.1): PartRows {
  const t = Math.floor(train * rows);
  const v = Math.floor(validation * rows);
  return { train: t, validation: v, test: rows - t - v };
}

/** Writes the three files into `dir`; returns the rows of each. */
export async function writeSplitFiles(
  dir: string,
  csv: string,
  split: SplitConfig | PartRows,
): Promise<PartRows> {
  const [head, ...lines] = csv.trimEnd().split('\n');
  const header = (head as string).split(',');
  let parts: SplitPart[];
  if ('train' in split) {
    parts = lines.map((_, i) =>
      i < split.train ? 'train' : i < split.train + split.validation ? 'validation' : 'test',
    );
  } else {
    parts = timeParts(header, lines, split);
  }
  const rows: PartRows = { train: 0, validation: 0, test: 0 };
  for (const part of ['train', 'validation', 'test'] as const) {
    const mine = lines.filter((_, i) => parts[i] === part);
    rows[part] = mine.length;
    await writeFile(join(dir, `${part}.csv`), `${head}\n${mine.join('\n')}\n`);
  }
  return rows;
}
