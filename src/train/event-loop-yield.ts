/**
 * Lets timers and I/O callbacks run during a CPU-bound loop. A `for await` over a synchronous
 * source (synthetic blocks, a tfjs step) only ever drains microtasks, so without this a long
 * offline run starves the macrotask queue for its whole length: an activity's keep-alive timer
 * never fires and the worker never sees a cancellation (measured: a 100 ms interval fired twice
 * in a 31 s run). Yielding costs one `setImmediate` round trip, so it is done at most every
 * `everyMs`, not every step.
 *
 * @param everyMs - the longest stretch between two yields. @default 200
 * @returns a function to await inside the loop: it resolves at once unless `everyMs` passed
 */
export function createEventLoopYield(everyMs = 200): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < everyMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = performance.now();
  };
}
