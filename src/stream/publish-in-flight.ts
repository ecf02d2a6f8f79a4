/**
 * The recurring window's version publishes, one in flight at a time. At a version boundary the
 * training loop hands the version to `publishVersion`, which copies what it needs and goes on
 * writing, gating and publishing in the background while training continues
 * (src/stream/training-loop.ts' `BackgroundPublish`); the group offsets are committed only once
 * that publish is durable. A boundary that comes due while it is in flight is not taken then:
 * training goes on, and the boundary is taken at the first event after it is durable (the
 * version is larger than `publishEvery.events`). So versions stay a chain, a failed publish is
 * seen before anything descends from it, and per-version costs never hold training up.
 */
export interface PublishInFlight {
  /** Resolves once the publish in flight (and its commit) is done; rejects when it failed. */
  settled(): Promise<void>;
  /**
   * True until the publish in flight is durable (its commit, a Kafka round trip, may still be
   * running: a boundary taken then waits for it in `settled`).
   */
  busy(): boolean;
  /**
   * Tracks a publish: `durable`, then `afterwards` (the offset commit). A failure of either is
   * reported to `onError` once (the window fails) and kept for `settled`.
   */
  track(durable: Promise<void>, afterwards: () => Promise<void>): Promise<void>;
}

/** See {@link PublishInFlight}. `onError` ends the window. */
export function createPublishInFlight(onError: (error: unknown) => void): PublishInFlight {
  let current: Promise<void> = Promise.resolve();
  let inFlight = false;
  return {
    settled: () => current,
    busy: () => inFlight,
    track(durable, afterwards) {
      inFlight = true;
      const tracked = durable.then(afterwards);
      current = tracked;
      const done = (): void => {
        if (current === tracked) inFlight = false;
      };
      durable.then(done, done);
      tracked.catch(onError);
      return tracked;
    },
  };
}
