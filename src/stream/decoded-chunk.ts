import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ColumnarBatch } from '../data/batch';
import { isClipped } from '../data/transforms';
import { eventsToBatch, type DecodeResult } from './event-codec';

/**
 * What crosses the thread boundary of the decode thread (src/stream/decode-pool.ts), both ways,
 * as typed arrays whose buffers are transferred, never copied, and never as event objects:
 * the raw message values of a chunk of Kafka messages going there, and coming back per message
 * either its dead-letter reason or its encoded row (dense transforms applied, categoricals
 * hashed: exactly what `eventsToBatch` makes of the event) with what the training loop's
 * bookkeeping reads of it (id, event time, clipped).
 */

/** Message values packed into one buffer: value i is `bytes[ends[i-1] .. ends[i])`. */
export interface PackedValues {
  /** Number of messages, N. */
  count: number;
  bytes: Uint8Array;
  /** [N] end of each value in `bytes`; a null value is empty (both decode as `empty message`). */
  ends: Int32Array;
}

/** The decoded chunk of N messages; its row-major arrays are a {@link ColumnarBatch} of its valid rows. */
export interface DecodedChunk {
  /** Number of messages, N. */
  count: number;
  /**
   * [N] per message: its row (≥ 0) when it decoded to a valid event, else `-1 - k` where `k`
   * indexes its reason in `errors`.
   */
  rowOf: Int32Array;
  /** The dead-letter reasons, in message order (exactly the in-thread decoder's text). */
  errors: string[];
  /** The valid rows, R of them, encoded as `eventsToBatch` encodes them. */
  rows: ColumnarBatch;
  /** [R] event ids (dedupe, trained-id records). */
  eventIds: string[];
  /** [R] event times, epoch ms. */
  eventTime: Float64Array;
  /** [R] 1 when a dense value of the row falls outside its feature's `clip`. */
  clipped: Uint8Array;
}

/** Packs message values for the decode thread (one copy into a buffer that is then transferred). */
export function packValues(values: readonly (Buffer | null)[]): PackedValues {
  let total = 0;
  for (const v of values) total += v?.length ?? 0;
  const bytes = new Uint8Array(total);
  const ends = new Int32Array(values.length);
  let at = 0;
  values.forEach((v, i) => {
    if (v !== null) {
      bytes.set(v, at);
      at += v.length;
    }
    ends[i] = at;
  });
  return { count: values.length, bytes, ends };
}

/** The buffers to transfer with `packed`. */
export function packedTransferList(packed: PackedValues): ArrayBuffer[] {
  return [packed.bytes.buffer as ArrayBuffer, packed.ends.buffer as ArrayBuffer];
}

/** The buffers to transfer with `chunk`. */
export function chunkTransferList(chunk: DecodedChunk): ArrayBuffer[] {
  const { rows } = chunk;
  return [
    chunk.rowOf.buffer,
    rows.dense.buffer,
    rows.sparse.buffer,
    rows.labels.buffer,
    chunk.eventTime.buffer,
    chunk.clipped.buffer,
  ] as ArrayBuffer[];
}

/**
 * True when a dense value of the event falls outside its feature's `clip` (it trains clipped):
 * the training loop counts such events.
 */
export function createClipCheck(spec: FeatureSpec): (event: ClickEvent) => boolean {
  const clipped = spec.dense.filter((f) => f.clip !== undefined);
  return (e) => clipped.length > 0 && clipped.some((f) => isClipped(e.dense[f.name], f));
}

/**
 * Decodes a packed chunk with `decode` (the recurring loop's own decoder: same checks, same
 * reasons) and encodes its valid events in one `eventsToBatch` call. The encoding is per row,
 * so row r here is bit for bit the row the in-thread loop would build from that event.
 */
export function decodeChunk(
  packed: PackedValues,
  decode: (value: Buffer | null) => DecodeResult,
  spec: FeatureSpec,
): DecodedChunk {
  const isOutOfRange = createClipCheck(spec);
  const rowOf = new Int32Array(packed.count);
  const errors: string[] = [];
  const events: ClickEvent[] = [];
  const view = Buffer.from(packed.bytes.buffer, packed.bytes.byteOffset, packed.bytes.byteLength);
  let start = 0;
  for (let i = 0; i < packed.count; i++) {
    const end = packed.ends[i] as number;
    const decoded = decode(end === start ? null : view.subarray(start, end));
    start = end;
    if ('error' in decoded) {
      errors.push(decoded.error);
      rowOf[i] = -errors.length;
    } else {
      rowOf[i] = events.length;
      events.push(decoded.ok);
    }
  }
  const eventTime = new Float64Array(events.length);
  const clipped = new Uint8Array(events.length);
  events.forEach((e, r) => {
    eventTime[r] = e.eventTime;
    clipped[r] = isOutOfRange(e) ? 1 : 0;
  });
  return {
    count: packed.count,
    rowOf,
    errors,
    rows: eventsToBatch(events, spec),
    eventIds: events.map((e) => e.eventId),
    eventTime,
    clipped,
  };
}

/** A row of some encoded batch. */
export interface RowRef {
  rows: ColumnarBatch;
  row: number;
}

/** One batch of the referenced rows, in order: a typed-array copy per row. */
export function gatherRows(
  refs: readonly RowRef[],
  numDense: number,
  numSparse: number,
): ColumnarBatch {
  const size = refs.length;
  const dense = new Float32Array(size * numDense);
  const sparse = new Int32Array(size * numSparse);
  const labels = new Float32Array(size);
  refs.forEach(({ rows, row }, r) => {
    dense.set(rows.dense.subarray(row * numDense, (row + 1) * numDense), r * numDense);
    sparse.set(rows.sparse.subarray(row * numSparse, (row + 1) * numSparse), r * numSparse);
    labels[r] = rows.labels[row] as number;
  });
  return { size, dense, sparse, labels, numDense, numSparse };
}
