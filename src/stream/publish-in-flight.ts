/**
 * The recurring window's version publishes, one in flight at a time. At a version boundary the
 * training loop hands the version to `publishVersion`, which copies what it needs and goes on
 * writing, gating and publishing in the background while training continues
 * (src/stream/training-loop.ts' `BackgroundPublish`); the group offsets are committed only once
 * that publish is durable, and the next boundary waits for it, so versions stay a chain and a
 * failed publish is seen before anything descends from it.
 */
export interface PublishInFlight {
  /** Resolves once the publish in flight (and its commit) is done; rejects when it failed. */
  settled(): Promise<void>;
  /**
   * Tracks a publish: `durable`, then `afterwards` (the offset commit). A failure of either is
   * reported to `onError` once (the window fails) and kept for `settled`.
   */
  track(durable: Promise<void>, afterwards: () => Promise<void>): Promise<void>;
}

/** See {@link PublishInFlight}. `onError` ends the window. */
export function createPublishInFlight(onError: (error: unknown) => void): PublishInFlight {
  let current: Promise<void> = Promise.resolve();
  return {
    settled: () => current,
    track(durable, afterwards) {
      current = durable.then(afterwards);
      current.catch(onError);
      return current;
    },
  };
}
