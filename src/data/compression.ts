import { closeSync, openSync, readSync } from 'node:fs';
import { DataError } from '../errors';

/** Compressed formats known by their first bytes; only gzip is read (Node's zlib). */
const MAGIC: { name: string; bytes: number[] }[] = [
  { name: 'gzip', bytes: [0x1f, 0x8b] },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
];

/**
 * How a text file is compressed, by its first bytes (a gzip file named `.csv` is gzip): 'gzip'
 * or null (plain). Another known compression is a DataError saying to decompress it first. A file
 * that cannot be opened counts as plain, so the reader reports the open error itself.
 */
export function compressionOf(path: string): 'gzip' | null {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(6);
      head = head.subarray(0, readSync(fd, head, 0, 6, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return path.endsWith('.gz') ? 'gzip' : null;
  }
  const found = MAGIC.find((m) => m.bytes.every((b, i) => head[i] === b));
  if (found === undefined) return null;
  if (found.name === 'gzip') return 'gzip';
  throw new DataError(
    `${path}: the file is ${found.name}-compressed; only gzip is read: decompress it first`,
  );
}
