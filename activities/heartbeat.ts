import type { Context } from '@temporalio/activity';

/** The keep-alive interval when the activity has no heartbeat timeout. @default 10 s */
const DEFAULT_EVERY_MS = 10_000;

/**
 * Heartbeats `details()` every `everyMs` until the returned function is called. Progress
 * callbacks heartbeat too, but only when there is progress: a recurring window waiting on an
 * idle topic, or an offline run counting rows or evaluating, must still prove it is alive
 * within the heartbeat timeout.
 *
 * @param everyMs - @default a quarter of the activity's heartbeat timeout, at most 10 s: a
 *   short timeout (a fleet that fails over in seconds) must still see several beats per
 *   period, and the SDK throttles what it sends to the server to 80% of the timeout anyway
 */
export function keepAlive(ctx: Context, details: () => unknown, everyMs?: number): () => void {
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  const interval =
    everyMs ??
    (timeoutMs ? Math.max(250, Math.min(DEFAULT_EVERY_MS, timeoutMs / 4)) : DEFAULT_EVERY_MS);
  const timer = setInterval(() => ctx.heartbeat(details()), interval);
  timer.unref();
  return () => clearInterval(timer);
}
