/**
 * Where a recurring window's wall time goes, phase by phase (issue 23: "a table of where a
 * version's and a window's time goes"). The phases partition the time between the window's
 * start and its end on the training thread, so they add up to the window's elapsed time up to
 * the timer callbacks and the gaps kafkajs takes between two `eachBatch` calls that are not a
 * fetch wait (both land in `fetchWait`).
 *
 * - `start`: connecting the admin, producer and consumer, reading the partition ends.
 * - `join`: from subscribing to the first batch in hand (the group join, with the broker's
 *   `group.initial.rebalance.delay.ms`, and the first fetch).
 * - `train`: inside the training loop's `handle` (decode, validate, micro-batch, score, train).
 * - `boundary`: inside `startPublish` (the partial batch, dead letters, the version's copy).
 * - `publishWait`: training blocked on the previous version's publish (one is in flight at most).
 * - `background`: the training thread's yields inside a batch (every few ms of training), where the
 *   publish in flight and kafkajs' fetches run their callbacks.
 * - `fetchWait`: between two batches, waiting for Kafka.
 * - `lastPublish`: the window's last version, from its boundary to durable (nothing trains then).
 * - `close`: leaving the group, reading the ends for the lag, disconnecting.
 *
 * `publishes` are the background publishes' durations (boundary → durable, off the training
 * path unless `publishWait` says otherwise).
 */
export const WINDOW_PHASES = [
  'start',
  'join',
  'train',
  'boundary',
  'publishWait',
  'background',
  'fetchWait',
  'lastPublish',
  'close',
] as const;
export type WindowPhase = (typeof WINDOW_PHASES)[number];

/** Milliseconds per phase, and the publishes' durations. */
export interface WindowTimings {
  phasesMs: Record<WindowPhase, number>;
  /** Versions published in the window (held ones included). */
  publishes: number;
  /** Median and largest boundary → durable time of the window's publishes, ms (0 without one). */
  publishMedianMs: number;
  publishMaxMs: number;
}

/** Accumulates {@link WindowTimings}; `performance.now()` based, so a clock step does not skew it. */
export class WindowClock {
  private readonly phases = Object.fromEntries(WINDOW_PHASES.map((p) => [p, 0])) as Record<
    WindowPhase,
    number
  >;
  private readonly publishMs: number[] = [];

  /** Adds `ms` to `phase`. */
  add(phase: WindowPhase, ms: number): void {
    this.phases[phase] += ms;
  }

  /** Runs `work`, adding its duration to `phase` whether it resolves or throws. */
  async time<T>(phase: WindowPhase, work: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await work();
    } finally {
      this.add(phase, performance.now() - t);
    }
  }

  /** Records one publish's boundary → durable duration. */
  published(ms: number): void {
    this.publishMs.push(ms);
  }

  snapshot(): WindowTimings {
    const sorted = [...this.publishMs].sort((a, b) => a - b);
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      phasesMs: Object.fromEntries(WINDOW_PHASES.map((p) => [p, round(this.phases[p])])) as Record<
        WindowPhase,
        number
      >,
      publishes: sorted.length,
      publishMedianMs: round(sorted[sorted.length >> 1] ?? 0),
      publishMaxMs: round(sorted[sorted.length - 1] ?? 0),
    };
  }
}
