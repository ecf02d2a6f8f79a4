import { InfraError } from './errors';

/**
 * Riding out a short outage of a server (Kafka restarting, Temporal's frontend briefly
 * unavailable) in a long-running client process: the call is retried with exponential backoff,
 * one line says what the process waits for and one says when it is back (not a line per
 * attempt), and after a documented limit it gives up with an error naming the server. Errors
 * that are not outages (bad input, a refused request) are rethrown at once. This is in-process
 * retry for reconnects only; activities leave retries to Temporal's retry policy.
 */

/** Options of {@link retryThroughOutage}. */
export interface OutageRetryOptions {
  /** What is waited for, as the log and the error name it, e.g. `Kafka at 127.0.0.1:9092`. */
  what: string;
  /** True when `error` means the server is unreachable (retry); false rethrows at once. */
  isOutage: (error: unknown) => boolean;
  /** Give up after waiting this long in one outage, ms. @default 300_000 (5 minutes) */
  limitMs?: number;
  /** First backoff, ms; doubled per attempt. @default 500 */
  initialDelayMs?: number;
  /** Longest backoff, ms. @default 5_000 */
  maxDelayMs?: number;
  /** Where the wait and recovery lines go. @default one line each on stderr */
  log?: (line: string) => void;
  /** Stops waiting: the last error is rethrown. */
  signal?: AbortSignal;
}

/** The default outage limit of long-running commands, ms (documented in the README). */
export const DEFAULT_OUTAGE_LIMIT_MS = 300_000;

const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `work`, retrying it through an outage (see the module comment). `work` must be safe to
 * repeat: idempotent, or deduplicated by the server (an idempotent Kafka producer, a workflow
 * id).
 * @throws InfraError (retriable) naming `what` when the outage outlasts `limitMs`; any
 *   non-outage error of `work` unchanged.
 */
export async function retryThroughOutage<T>(
  work: () => Promise<T>,
  options: OutageRetryOptions,
): Promise<T> {
  const limitMs = options.limitMs ?? DEFAULT_OUTAGE_LIMIT_MS;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  let delay = options.initialDelayMs ?? 500;
  let waitingSince: number | undefined;
  for (;;) {
    try {
      const result = await work();
      if (waitingSince !== undefined) {
        log(`${options.what} is back after ${((Date.now() - waitingSince) / 1000).toFixed(1)} s`);
      }
      return result;
    } catch (error) {
      if (!options.isOutage(error) || options.signal?.aborted) throw error;
      const now = Date.now();
      if (waitingSince === undefined) {
        waitingSince = now;
        log(
          `waiting for ${options.what} (${message(error)}); retrying with backoff for up to ${Math.round(limitMs / 1000)} s`,
        );
      } else if (now - waitingSince >= limitMs) {
        throw new InfraError(
          `${options.what} has been unavailable for ${Math.round((now - waitingSince) / 1000)} s ` +
            `(limit ${Math.round(limitMs / 1000)} s); giving up. Last error: ${message(error)}`,
          { cause: error },
        );
      }
      await sleep(Math.min(delay, limitMs - (now - waitingSince)), options.signal);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
    }
  }
}
