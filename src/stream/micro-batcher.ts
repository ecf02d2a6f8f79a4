/**
 * Groups items into fixed-size micro-batches. The recurring trainer feeds it validated events and
 * trains each full batch; at publish time it drains the partial batch so the published weights
 * contain exactly the events below the published offsets.
 */
export interface MicroBatcher<T> {
  /** Adds an item; returns a full batch when this item completes one, else undefined. */
  push(item: T): T[] | undefined;
  /** Takes the partial batch (possibly empty) and starts a new one. */
  drain(): T[];
  /** Items waiting in the partial batch. */
  readonly pending: number;
}

/** Creates a batcher of `size` items per batch (a positive integer). */
export function createMicroBatcher<T>(size: number): MicroBatcher<T> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`micro-batch size must be a positive integer, got ${size}`);
  }
  let buffer: T[] = [];
  return {
    push(item) {
      buffer.push(item);
      if (buffer.length < size) return undefined;
      const full = buffer;
      buffer = [];
      return full;
    },
    drain() {
      const partial = buffer;
      buffer = [];
      return partial;
    },
    get pending() {
      return buffer.length;
    },
  };
}
