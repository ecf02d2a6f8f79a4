import { z } from 'zod';

/**
 * A recurring model's publish cadence: a version is published after `events` consumed events
 * or `seconds` since the last version (with at least one event), whichever comes first — so a
 * throughput-bound stream publishes by count, not throttled by per-version costs, and a slow
 * one still publishes fresh versions by the clock.
 */
export const PublishEvery = z.strictObject({
  /** Consumed events (trained, held back or dead-lettered) per version. @default 10000 */
  events: z.number().int().positive().optional(),
  /** Seconds since the last version, counted from it. @default 60 */
  seconds: z.number().positive().optional(),
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
): { events: number; seconds: number } {
  const pick = (
    field: keyof PublishEvery,
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
  };
}
