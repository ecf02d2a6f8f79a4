/**
 * How often long work stops to offer a heartbeat, ms. kafkajs sends one only when its
 * `heartbeatInterval` has passed since the last, so offering often costs a clock read.
 */
const HEARTBEAT_CHECK_MS = 250;

/**
 * Keeps the consumer's group membership alive while a batch or a publish runs. kafkajs
 * heartbeats only between batches, so a batch that takes longer than the session timeout to
 * train (a backlog on a slow backend) got the member evicted (UNKNOWN_MEMBER_ID, issue 12
 * item 3). `heartbeat` is the running consumer's, taken from the last eachBatch payload; it
 * stays valid between batches.
 */
export function createHeartbeats(): {
  /** Remembers the consumer's heartbeat function. */
  use(heartbeat: () => Promise<void>): void;
  /** Offers a heartbeat if HEARTBEAT_CHECK_MS passed since the last offer; call in loops. */
  beat(): Promise<void>;
  /** Runs `work`, offering heartbeats on a timer while it awaits I/O (a checkpoint save). */
  during<T>(work: () => Promise<T>): Promise<T>;
} {
  let heartbeat: (() => Promise<void>) | undefined;
  let last = 0;
  const beat = async (): Promise<void> => {
    if (heartbeat === undefined || Date.now() - last < HEARTBEAT_CHECK_MS) return;
    last = Date.now();
    await heartbeat();
  };
  return {
    use: (h) => void (heartbeat = h),
    beat,
    async during(work) {
      let failure: unknown;
      const timer = setInterval(() => {
        beat().catch((error: unknown) => void (failure ??= error));
      }, HEARTBEAT_CHECK_MS);
      try {
        const result = await work();
        if (failure !== undefined) throw failure;
        return result;
      } finally {
        clearInterval(timer);
      }
    },
  };
}
