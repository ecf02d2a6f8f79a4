/**
 * Whether a kafkajs error means the brokers are unreachable (a restart, a network blip) rather
 * than that the request itself is wrong: such a request can be repeated once they are back.
 * kafkajs marks transient errors `retriable`; after its own retries it throws
 * KafkaJSNumberOfRetriesExceeded (not retriable itself) around the transient cause, so the
 * cause chain is searched.
 */
const OUTAGE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

export function isKafkaOutage(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    const retriable = (e as { retriable?: unknown }).retriable;
    if (OUTAGE_NAMES.has(e.name) || retriable === true) return true;
    const next: unknown = (e as { originalError?: unknown }).originalError ?? e.cause;
    if (next === e) break;
    e = next;
  }
  return false;
}
