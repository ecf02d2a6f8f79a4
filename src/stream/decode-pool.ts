import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { InfraError } from '../errors';
import { packedTransferList, packValues, type DecodedChunk } from './decoded-chunk';
import type { DecoderOptions } from './event-codec';
import type { DecodeReply, DecodeRequest, DecodeWorkerData } from './decode-worker';

/**
 * The training thread's side of the decode thread: message values go to one worker thread
 * (src/stream/decode-worker.ts) in chunks and come back as ready encoded rows, so JSON parsing,
 * validation, dense transforms and categorical hashing run on the second core while
 * `trainer.step` keeps the first busy. Chunks are decoded and answered strictly in the order
 * they were asked for.
 */

/** Settings of {@link createDecodePool}. */
export interface DecodePoolOptions {
  spec: FeatureSpec;
  /** The decoder's size limit and event-time bounds (its clock comes with each chunk). */
  decoder?: Omit<DecoderOptions, 'now'>;
}

/** A decode thread. */
export interface DecodePool {
  /**
   * Decodes `values` on the thread. Rejects with an InfraError when the thread failed or was
   * closed. A chunk nobody awaits (the window stopped mid-batch) is never an unhandled rejection.
   * `now` is the consumer's clock the event-time bounds are checked against, epoch ms.
   */
  decode(values: readonly (Buffer | null)[], now: number): Promise<DecodedChunk>;
  /** Terminates the thread (idempotent); chunks still pending reject. */
  close(): Promise<void>;
}

/**
 * Starts the worker. Under tsx (a checkout) its entry is TypeScript, and Node 20 does not give a
 * worker thread the parent's `--import tsx` hooks: the thread registers tsx's CommonJS hooks
 * itself before loading it. A build (dist/) runs the compiled entry directly.
 */
function startWorker(workerData: DecodeWorkerData): Worker {
  const fromSource = __filename.endsWith('.ts');
  const entry = join(__dirname, fromSource ? 'decode-worker.ts' : 'decode-worker.js');
  if (!fromSource) return new Worker(entry, { workerData });
  const tsx = require.resolve('tsx/cjs/api');
  const boot = `require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(entry)});`;
  return new Worker(boot, { eval: true, workerData });
}

/** Starts a decode thread for events of `options.spec`. */
export function createDecodePool(options: DecodePoolOptions): DecodePool {
  const worker = startWorker({ spec: options.spec, decoder: options.decoder ?? {} });
  const pending = new Map<
    number,
    { resolve: (chunk: DecodedChunk) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let failure: InfraError | null = null;
  let closing: Promise<void> | null = null;

  const failAll = (error: InfraError): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on('message', (reply: DecodeReply) => {
    const waiting = pending.get(reply.id);
    if (waiting === undefined) return;
    pending.delete(reply.id);
    if ('error' in reply) {
      waiting.reject(new InfraError(`the decode thread failed on a chunk: ${reply.error}`));
    } else waiting.resolve(reply.chunk);
  });
  worker.on('error', (error) =>
    failAll(new InfraError(`the decode thread failed: ${error.message}`, { cause: error })),
  );
  worker.on('messageerror', (error) =>
    failAll(new InfraError(`the decode thread sent an unreadable reply: ${error.message}`)),
  );
  worker.on('exit', (code) =>
    failAll(
      new InfraError(
        closing === null
          ? `the decode thread exited unexpectedly (code ${code})`
          : 'the decode thread was closed',
      ),
    ),
  );

  return {
    decode(values, now) {
      const chunk = new Promise<DecodedChunk>((resolve, reject) => {
        if (failure !== null) return reject(failure);
        if (closing !== null) return reject(new InfraError('the decode thread was closed'));
        const id = nextId++;
        pending.set(id, { resolve, reject });
        const packed = packValues(values);
        worker.postMessage({ id, packed, now } satisfies DecodeRequest, packedTransferList(packed));
      });
      chunk.catch(() => undefined);
      return chunk;
    },
    close() {
      closing ??= worker.terminate().then(() => {
        failAll(new InfraError('the decode thread was closed'));
      });
      return closing;
    },
  };
}
