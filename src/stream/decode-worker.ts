import { parentPort, workerData } from 'node:worker_threads';
import type { FeatureSpec } from '../../schemas/feature-spec';
import {
  chunkTransferList,
  decodeChunk,
  type DecodedChunk,
  type PackedValues,
} from './decoded-chunk';
import { createEventDecoder, type DecoderOptions } from './event-codec';

/**
 * The decode thread's entry (started by src/stream/decode-pool.ts): decodes, validates and
 * encodes chunks of message values in the order they arrive and posts each chunk back,
 * transferring its buffers. It holds no state across chunks beyond the decoder (dedupe, which
 * depends on the order the training loop consumes in, stays on the training thread).
 */

/** What the pool hands the thread at start. */
export interface DecodeWorkerData {
  spec: FeatureSpec;
  decoder: Omit<DecoderOptions, 'now'>;
}

/** A request: decode these values. */
export interface DecodeRequest {
  id: number;
  packed: PackedValues;
  /** The consumer's clock for this chunk (the training thread's, when it asked), epoch ms. */
  now: number;
}

/** A reply, in request order. */
export type DecodeReply = { id: number; chunk: DecodedChunk } | { id: number; error: string };

const port = parentPort;
if (port === null) throw new Error('decode-worker.ts runs as a worker thread (decode-pool.ts)');
const { spec, decoder } = workerData as DecodeWorkerData;
let now = Date.now();
const decode = createEventDecoder(spec, { ...decoder, now: () => now });
port.on('message', (request: DecodeRequest) => {
  let reply: DecodeReply;
  now = request.now;
  try {
    const chunk = decodeChunk(request.packed, decode, spec);
    port.postMessage({ id: request.id, chunk } satisfies DecodeReply, chunkTransferList(chunk));
    return;
  } catch (error) {
    reply = {
      id: request.id,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  port.postMessage(reply);
});
