import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { AgpError } from '../src/errors';

/**
 * Our errors become typed Temporal failures: the failure type is the error's kind (so a retry
 * policy can name it) and a user's mistake is not retried. Anything else (an unexpected bug) is
 * rethrown as is and follows the retry policy.
 */
export function toFailure(error: unknown, cancellation?: AbortSignal): unknown {
  // Work stopped because the activity was cancelled (or its worker is shutting down): report
  // the cancellation, not the error the stop caused, so Temporal can retry it elsewhere.
  if (cancellation?.aborted) {
    const reason: unknown = cancellation.reason;
    return reason instanceof Error ? reason : new CancelledFailure(String(reason ?? 'cancelled'));
  }
  if (error instanceof AgpError) {
    return ApplicationFailure.create({
      type: error.kind,
      message: error.message,
      nonRetryable: !error.retriable,
      cause: error,
    });
  }
  return error;
}
