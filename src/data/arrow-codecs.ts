import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompressZstd } from 'hyparquet-compressors';

/**
 * Body-compression codecs for Arrow IPC: apache-arrow reads compressed record batches only
 * through codecs registered in its `compressionRegistry`, and ships none. pyarrow compresses
 * Feather v2 with LZ4_FRAME by default and offers ZSTD. Both decoders are pure JavaScript
 * (zstd from hyparquet-compressors' fzstd, LZ4 frames below), so no native module is needed.
 * Idempotent; {@link createArrowSource} calls it before reading.
 */
export function registerArrowCodecs(): void {
  if (compressionRegistry.get(CompressionType.LZ4_FRAME) === null) {
    compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decompressLz4Frame });
  }
  if (compressionRegistry.get(CompressionType.ZSTD) === null) {
    compressionRegistry.set(CompressionType.ZSTD, { decode: (b) => aligned(decompressZstd(b)) });
  }
}

/**
 * apache-arrow views each decompressed buffer as the column's typed array (BigInt64Array for
 * Int64), which must start at a multiple of 8 bytes; fzstd may return a view into a larger
 * buffer at any offset.
 */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

const LZ4_MAGIC = 0x184d2204;

/** A growable output buffer: the frame's content size is optional, so the size is not known. */
class Output {
  bytes: Uint8Array;
  length = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(Math.max(size, 64));
  }
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/**
 * Decodes one or more concatenated LZ4 frames (the LZ4 frame format, v1.6.x: magic, frame
 * descriptor, blocks, end mark, optional checksums). Checksums are skipped, not verified:
 * the IPC body carries its own uncompressed length, which apache-arrow checks.
 * @throws Error describing the malformed part.
 */
export function decompressLz4Frame(input: Uint8Array): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const out = new Output(input.length * 4);
  let i = 0;
  while (i < input.length) {
    if (i + 7 > input.length) throw new Error(`lz4 frame: truncated header at byte ${i}`);
    const magic = view.getUint32(i, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      i += 8 + view.getUint32(i + 4, true); // a skippable frame
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new Error(`lz4 frame: bad magic number at byte ${i}`);
    const flg = input[i + 4] as number;
    if (flg >> 6 !== 1) throw new Error(`lz4 frame: unsupported version ${flg >> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    if ((flg & 0x01) !== 0) throw new Error('lz4 frame: dictionaries are not supported');
    i += 6; // magic, FLG, BD
    if (contentSize) {
      out.reserve(Number(view.getBigUint64(i, true)));
      i += 8;
    }
    i += 1; // header checksum
    for (;;) {
      if (i + 4 > input.length) throw new Error('lz4 frame: truncated block size');
      const word = view.getUint32(i, true);
      i += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (i + size > input.length) throw new Error('lz4 frame: truncated block');
      const block = input.subarray(i, i + size);
      if (word & 0x80000000) {
        out.reserve(size);
        out.bytes.set(block, out.length);
        out.length += size;
      } else {
        decodeLz4Block(block, out);
      }
      i += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) i += 4;
  }
  return out.bytes.subarray(0, out.length);
}

/**
 * Appends one LZ4 block's decoded bytes to `out`. Matches may reach back into earlier blocks
 * (linked blocks), which works because every block of a frame lands in the same buffer.
 */
function decodeLz4Block(src: Uint8Array, out: Output): void {
  let i = 0;
  while (i < src.length) {
    const token = src[i++] as number;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = src[i++] as number;
        literals += b;
      } while (b === 255 && i < src.length);
    }
    if (i + literals > src.length) throw new Error('lz4 block: literals run past the block');
    out.reserve(literals);
    out.bytes.set(src.subarray(i, i + literals), out.length);
    out.length += literals;
    i += literals;
    if (i >= src.length) break; // the last sequence has literals only
    const offset = (src[i] as number) | ((src[i + 1] as number) << 8);
    i += 2;
    if (offset === 0 || offset > out.length) throw new Error('lz4 block: bad match offset');
    let match = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        b = src[i++] as number;
        match += b;
      } while (b === 255 && i < src.length);
    }
    out.reserve(match);
    const bytes = out.bytes;
    let from = out.length - offset;
    let to = out.length;
    if (offset >= match) {
      bytes.copyWithin(to, from, from + match);
    } else {
      for (const stop = to + match; to < stop;) bytes[to++] = bytes[from++] as number;
    }
    out.length += match;
  }
}
