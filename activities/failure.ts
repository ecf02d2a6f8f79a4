import { ApplicationFailure } from '@temporalio/common';
import { AgpError } from '../src/errors';

/**
 * Our errors become typed Temporal failures: the failure type is the error's kind (so a retry
 * policy can name it) and a user's mistake is not retried. Anything else (cancellation, an
 * unexpected bug) is rethrown as is and follows the retry policy.
 */
export function toFailure(error: unknown): unknown {
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
