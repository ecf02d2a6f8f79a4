import { isGrpcServiceError } from '@temporalio/client';

/** gRPC status codes that mean the Temporal frontend is unreachable or restarting. */
const OUTAGE_CODES = new Set([
  14, // UNAVAILABLE: connection refused or reset
  4, // DEADLINE_EXCEEDED: no answer in time
]);

/**
 * Whether a Temporal client error means the server is unreachable (the client's own retries
 * gave up: `ServiceError ... UNAVAILABLE`), so the call can be repeated once it is back.
 */
export function isTemporalOutage(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    if (isGrpcServiceError(e) && OUTAGE_CODES.has(e.code)) return true;
    e = e.cause;
  }
  return false;
}
