import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ColumnarBatch } from '../data/batch';
import { gatherRows, type DecodedChunk, type RowRef } from './decoded-chunk';
import { eventsToBatch } from './event-codec';

/**
 * A valid event as the training loop holds it between decoding and training: the event object
 * (decoded on the training thread) or its row, encoded by the decode thread
 * (src/stream/decode-pool.ts). The loop reads only what both carry.
 */
export type ValidEvent = { ok: ClickEvent } | { chunk: DecodedChunk; row: number };

/** The event's id. */
export const idOf = (v: ValidEvent): string =>
  'ok' in v ? v.ok.eventId : (v.chunk.eventIds[v.row] as string);

/** The event's time, epoch ms. */
export const timeOf = (v: ValidEvent): number =>
  'ok' in v ? v.ok.eventTime : (v.chunk.eventTime[v.row] as number);

/** Message `index` of a decoded chunk: its dead-letter reason or its row. */
export function fromChunk(chunk: DecodedChunk, index: number): ValidEvent | { error: string } {
  const row = chunk.rowOf[index] as number;
  return row >= 0 ? { chunk, row } : { error: chunk.errors[-row - 1] as string };
}

/**
 * The batch of `items`, in order. Rows the decode thread encoded are copied; events decoded on
 * this thread are encoded as the offline readers encode them. A row's encoding depends on that
 * row alone, so both give the same bits.
 */
export function validEventsToBatch(items: readonly ValidEvent[], spec: FeatureSpec): ColumnarBatch {
  const events: ClickEvent[] = [];
  for (const p of items) if ('ok' in p) events.push(p.ok);
  if (events.length === items.length) return eventsToBatch(events, spec);
  const encoded = events.length === 0 ? undefined : eventsToBatch(events, spec);
  let k = 0;
  const refs = items.map((p): RowRef =>
    'ok' in p ? { rows: encoded as ColumnarBatch, row: k++ } : { rows: p.chunk.rows, row: p.row },
  );
  return gatherRows(refs, spec.dense.length, spec.sparse.length);
}
