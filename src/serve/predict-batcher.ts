import type { ClickEvent } from '../../schemas/click-event';
import type { LoadedVersion } from './loaded-version';

/** Options of {@link createPredictBatcher}. */
export interface PredictBatcherOptions {
  /**
   * How long the first queued request waits for others. 0 = until the requests that arrived in
   * the same turn of the event loop are parsed (no added latency when idle). @default 0
   */
  windowMs?: number;
  /** A batch is scored at once when it reaches this many rows. @default 512 */
  maxRows?: number;
  /** Called with each predict call's size (metrics). */
  onBatch?: (version: LoadedVersion, rows: number) => void;
}

interface Pending {
  events: readonly ClickEvent[];
  resolve: (predictions: Float32Array) => void;
  reject: (error: unknown) => void;
}

/** Scores requests, merging the ones that arrive together into one predict call per version. */
export interface PredictBatcher {
  /**
   * Click probabilities for `events` on `version`. The caller holds a lease on `version` until
   * this settles.
   */
  score(version: LoadedVersion, events: readonly ClickEvent[]): Promise<Float32Array>;
}

/**
 * Micro-batching: one predict call over many requests costs much less than one per request
 * (a call has a fixed cost; rows are cheap), so throughput grows with concurrency.
 */
export function createPredictBatcher(options: PredictBatcherOptions = {}): PredictBatcher {
  const windowMs = options.windowMs ?? 0;
  const maxRows = options.maxRows ?? 512;
  const queues = new Map<LoadedVersion, { items: Pending[]; rows: number }>();
  let scheduled = false;

  const flushVersion = (version: LoadedVersion): void => {
    const queue = queues.get(version);
    if (queue === undefined) return;
    queues.delete(version);
    const { items, rows } = queue;
    let predictions: Float32Array;
    try {
      predictions =
        items.length === 1
          ? version.predict(items[0]!.events)
          : version.predict(items.flatMap((p) => p.events));
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    options.onBatch?.(version, rows);
    let at = 0;
    for (const item of items) {
      item.resolve(predictions.subarray(at, at + item.events.length));
      at += item.events.length;
    }
  };

  const flushAll = (): void => {
    scheduled = false;
    for (const version of [...queues.keys()]) flushVersion(version);
  };

  return {
    score(version, events) {
      return new Promise<Float32Array>((resolve, reject) => {
        let queue = queues.get(version);
        if (queue === undefined) {
          queue = { items: [], rows: 0 };
          queues.set(version, queue);
        }
        queue.items.push({ events, resolve, reject });
        queue.rows += events.length;
        if (queue.rows >= maxRows) {
          flushVersion(version);
          return;
        }
        if (!scheduled) {
          scheduled = true;
          if (windowMs > 0) setTimeout(flushAll, windowMs);
          else setImmediate(flushAll);
        }
      });
    },
  };
}
