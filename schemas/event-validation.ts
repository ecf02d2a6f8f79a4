import { z } from 'zod';

/**
 * How strictly the recurring phase accepts click events beyond their shape: how far event times
 * may stray from the consumer's clock, and optional de-duplication by `eventId`. One schema for
 * every place that configures a recurring window (the stream trainer's `WindowOptions`, later a
 * workflow input or an environment variable): parse it once there and pass the output inward.
 */

/** Epoch milliseconds, or an ISO 8601 date-time with an offset (`2000-01-01T00:00:00Z`). */
const Instant = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);

/** Optional de-duplication by `eventId`. */
export const EventDedupe = z.strictObject({
  /**
   * Remember the ids of the last `lastIds` trained-or-buffered events; an event whose id is
   * among them is dead-lettered (`duplicate eventId`). Memory is bounded by this count (ids are
   * at most 256 characters).
   */
  lastIds: z.number().int().positive().max(10_000_000),
});
export type EventDedupe = z.infer<typeof EventDedupe>;

export const EventValidation = z.strictObject({
  /**
   * Latest accepted event time, in seconds ahead of the consumer's clock. A later event is
   * dead-lettered (`event time out of range`): a time in the future is a producer's bug and would
   * give the version a negative freshness. The slack covers clock skew between hosts.
   * @default 3600
   */
  maxFutureSkewSeconds: z.number().nonnegative().default(3600),
  /**
   * Earliest accepted event time (epoch ms or ISO date-time); `null` accepts any non-negative
   * time. Off by default because replays of historical logs carry their own old times
   * (MovieLens ratings start in 1995); set it when the topic only carries live events.
   * @default null
   */
  minEventTime: Instant.nullable().default(null),
  /** De-duplication by `eventId`; absent (the default) trains every event once per offset. */
  dedupe: EventDedupe.optional(),
});
/** Parsed settings (defaults filled in). */
export type EventValidation = z.infer<typeof EventValidation>;
/** Settings as a user writes them (every field optional). */
export type EventValidationInput = z.input<typeof EventValidation>;
