import type { Context } from '@temporalio/activity';

/**
 * Heartbeats `details()` every `everyMs` until the returned function is called. Progress
 * callbacks heartbeat too, but only when there is progress: a recurring window waiting on an
 * idle topic, or an offline run counting rows or evaluating, must still prove it is alive
 * within the heartbeat timeout.
 *
 * @param everyMs - @default 10000
 */
export function keepAlive(ctx: Context, details: () => unknown, everyMs = 10_000): () => void {
  const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
