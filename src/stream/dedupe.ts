import type { EventDedupe } from '../../schemas/event-validation';
import type { DecodeResult } from './event-codec';

/**
 * Optional de-duplication by `eventId`. Exactly-once in the recurring phase is per Kafka offset:
 * an event a producer sent twice sits at two offsets and is trained twice. With dedupe on, the
 * ids of the last `lastIds` accepted events are remembered and a repeat is dead-lettered with
 * reason `duplicate eventId`: dead-lettered rather than dropped so every consumed offset stays
 * either trained or in the DLQ (the counts in a manifest add up, and an operator can see how
 * often a producer repeats itself).
 *
 * The memory is bounded by count, not by event time: event times come from producers and may be
 * out of order, a count is not. It starts empty with every training loop (each window, each
 * restart), so a repeat that straddles a window boundary is not caught; that keeps the decision
 * free of state that a checkpoint would have to carry. Only valid events are remembered: an
 * invalid event re-sent with a fix is trained.
 */

/** Where a message sits in the log (for the reason text). */
export interface LogPosition {
  topic: string;
  partition: number;
  offset: number;
}

/** Checks decoded events for repeated ids. */
export interface EventIdDedupe {
  /**
   * Returns `decoded` unchanged when it is an error, when dedupe is off or when its id is new
   * (the id is then remembered); a `duplicate eventId` error when the id was seen.
   */
  check(decoded: DecodeResult, at: LogPosition): DecodeResult;
  /**
   * The same check by id alone (an event the decode thread decoded): the `duplicate eventId`
   * reason when `id` was seen, else null (and `id` is remembered, when dedupe is on).
   */
  checkId(id: string, at: LogPosition): string | null;
  /** Ids remembered now (at most `lastIds`). */
  readonly size: number;
}

/** Creates the check; `config` undefined turns it off (every event passes). */
export function createEventIdDedupe(config: EventDedupe | undefined): EventIdDedupe {
  if (config === undefined) return { check: (decoded) => decoded, checkId: () => null, size: 0 };
  const { lastIds } = config;
  // A Map iterates in insertion order, so its first key is the oldest id: a FIFO of ids with
  // O(1) lookup, and the first position of each id for the reason.
  const seen = new Map<string, string>();
  const checkId = (id: string, at: LogPosition): string | null => {
    const first = seen.get(id);
    if (first !== undefined) {
      return (
        `duplicate eventId: ${JSON.stringify(id)} was already consumed at ${first} ` +
        `(dedupe over the last ${lastIds} ids)`
      );
    }
    seen.set(id, `${at.topic}/${at.partition}@${at.offset}`);
    if (seen.size > lastIds) seen.delete(seen.keys().next().value as string);
    return null;
  };
  return {
    check(decoded, at) {
      if ('error' in decoded) return decoded;
      const error = checkId(decoded.ok.eventId, at);
      return error === null ? decoded : { error };
    },
    checkId,
    get size() {
      return seen.size;
    },
  };
}
