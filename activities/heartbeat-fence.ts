import type { Context } from '@temporalio/activity';
import { InfraError } from '../src/errors';

/** Longest wait for the server's answer to a confirming heartbeat. @default 10 s */
const MAX_CONFIRM_MS = 10_000;

/**
 * Proves, before a publish, that the Temporal server still hears this attempt: one heartbeat
 * sent synchronously through the activity's client (`ctx.heartbeat` is fire-and-forget and
 * reports nothing), with a deadline of half the heartbeat timeout (at most 10 s). It throws, so
 * the caller publishes nothing, when the server cannot be reached in time, when it no longer
 * knows this attempt (it timed out and a retry may already be training the same offsets: the
 * task token names the attempt), or when the activity was cancelled.
 *
 * Why this fences: a successful heartbeat resets the server's heartbeat timer, so no retry of
 * this activity can start within one heartbeat timeout after it; the publish that follows takes
 * milliseconds. The registry's compare-and-set catches whatever slips through anyway.
 */
export async function confirmHeartbeat(ctx: Context, details: unknown): Promise<void> {
  const timeout = ctx.info.heartbeatTimeoutMs ?? 2 * MAX_CONFIRM_MS;
  const deadline = Date.now() + Math.max(1000, Math.min(MAX_CONFIRM_MS, timeout / 2));
  try {
    const { client } = ctx;
    await client.withDeadline(deadline, () =>
      client.activity.heartbeat(ctx.info.taskToken, details),
    );
  } catch (error) {
    throw new InfraError(
      `activity ${ctx.info.activityType} (attempt ${ctx.info.attempt}) could not confirm a ` +
        `heartbeat with the Temporal server: ${(error as Error).message}. Not publishing: a ` +
        'retry may own this window; it resumes from the registry.',
      { cause: error },
    );
  }
}
