import type { AgpWorker } from './create-worker';

/** How long to wait before re-creating a worker that stopped with an error, doubling to the cap. */
const FIRST_DELAY_MS = 2_000;
const MAX_DELAY_MS = 30_000;
/** A worker that ran this long before failing starts the backoff afresh. */
const HEALTHY_RUN_MS = 60_000;

/**
 * Runs workers from `make` until SIGINT/SIGTERM: a worker whose `run()` ends with an error
 * (core gives up on a poll it considers fatal, for example while a restarted Temporal server
 * is still loading its namespaces) is closed and a new one created after a backoff, so a
 * Temporal outage does not leave a live process that polls nothing. Workflows are replayed and
 * activities retried by Temporal as after any worker loss. A signal drains the current worker
 * (the SDK's own SIGINT/SIGTERM handling) and ends the loop; an error while creating the first
 * worker is the caller's (bad configuration should fail the command, not loop).
 */
export async function runSupervised(
  make: () => Promise<AgpWorker>,
  log: (line: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  let stopping = false;
  const stop = (): void => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let current: AgpWorker | null = await make();
    let delay = FIRST_DELAY_MS;
    for (;;) {
      const started = Date.now();
      let failure: unknown = null;
      try {
        await current.worker.run();
      } catch (error) {
        failure = error;
      } finally {
        await current.close().catch(() => undefined);
      }
      if (stopping || failure === null) return;
      if (Date.now() - started > HEALTHY_RUN_MS) delay = FIRST_DELAY_MS;
      current = null;
      while (current === null && !stopping) {
        log(
          `worker stopped with an error (${describe(failure)}); re-creating it in ${delay / 1000} s`,
        );
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        if (stopping) return;
        try {
          current = await make();
          log('worker re-created; polling again');
        } catch (error) {
          failure = error;
        }
      }
      if (current === null) return;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
