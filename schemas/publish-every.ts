import { z } from 'zod';

/**
 * A recurring model's publish cadence: a version is published after `events` consumed events
 * or `seconds` since the last version (with at least one event), whichever comes first — so a
 * throughput-bound stream publishes by count and a slow one still publishes fresh versions by
 * the clock. One version publishes at a time; a count boundary that comes due while the
 * previous version is still publishing is deferred (training goes on, the version is cut once
 * that publish is durable, and holds more than `events`), so per-version costs never throttle
 * a throughput-bound stream — unless `exact` asks for versions of exactly `events`.
 */
export const PublishEvery = z.strictObject({
  /** Consumed events (trained, held back or dead-lettered) per version. @default 10000 */
  events: z.number().int().positive().optional(),
  /** Seconds since the last version, counted from it. @default 60 */
  seconds: z.number().positive().optional(),
  /**
   * Every version holds exactly `events` consumed events (training waits for the previous
   * version's publish at a boundary): reproducible version contents, at the price of
   * throughput when a publish outlasts a version's training. @default false
   */
  exact: z.boolean().optional(),
});
export type PublishEvery = z.infer<typeof PublishEvery>;

/** See {@link PublishEvery}. */
export const DEFAULT_PUBLISH_EVERY = { events: 10_000, seconds: 60 } as const;

/** The cadence fields of a recurring input: `publishEvery` and its older names. */
export interface PublishCadenceInput {
  publishEvery?: PublishEvery | undefined;
  /** Alias of `publishEvery.events`. */
  eventsPerVersion?: number | undefined;
  /** Alias of `publishEvery.seconds`. */
  publishEverySeconds?: number | undefined;
}

/**
 * `publishEvery` with its aliases folded in and defaults applied. A field given under both
 * names with two values is an issue on `publishEvery.<field>` naming both.
 */
export function resolvePublishEvery(
  input: PublishCadenceInput,
  ctx: z.RefinementCtx,
): { events: number; seconds: number; exact: boolean } {
  const pick = (
    field: 'events' | 'seconds',
    alias: 'eventsPerVersion' | 'publishEverySeconds',
  ): number => {
    const value = input.publishEvery?.[field];
    const aliased = input[alias];
    if (value !== undefined && aliased !== undefined && value !== aliased) {
      ctx.addIssue({
        code: 'custom',
        path: ['publishEvery', field],
        message: `publishEvery.${field} is ${value} but ${alias} (its older name) is ${aliased}: set one of them`,
      });
    }
    return value ?? aliased ?? DEFAULT_PUBLISH_EVERY[field];
  };
  return {
    events: pick('events', 'eventsPerVersion'),
    seconds: pick('seconds', 'publishEverySeconds'),
    exact: input.publishEvery?.exact ?? false,
  };
}
