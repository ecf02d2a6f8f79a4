import { z } from 'zod';
import type { FeatureSpec } from './feature-spec';

/**
 * Click events on the Kafka topic the recurring phase consumes. Versioned by `v` so a producer can
 * move to a new layout while old events are still in the log; the consumer accepts every version
 * in the union below.
 *
 * `eventTime` is epoch milliseconds (an integer): cheaper to validate and compare than ISO text,
 * and what Kafka's own record timestamps use.
 */

/** Largest encoded event accepted, in bytes. Bigger messages go to the dead-letter topic. */
export const MAX_EVENT_BYTES = 64 * 1024;

/** A raw dense value; `null` is an explicitly missing value (becomes 0 after the transform). */
const DenseValue = z.number().nullable();
/** A raw categorical value, hashed into its table like offline data; `null` is missing. */
const SparseValue = z.union([z.string().max(1024), z.number()]).nullable();

/** Version 1 of the click event. Feature names are checked against a FeatureSpec by `clickEventSchema`. */
export const ClickEventV1 = z.strictObject({
  v: z.literal(1),
  eventId: z.string().min(1).max(256),
  /** Epoch milliseconds. */
  eventTime: z.number().int().nonnegative(),
  label: z.union([z.literal(0), z.literal(1)]),
  dense: z.record(z.string(), DenseValue),
  sparse: z.record(z.string(), SparseValue),
});
export type ClickEventV1 = z.infer<typeof ClickEventV1>;

/** Every click-event version, discriminated on `v`. */
export const ClickEvent = z.discriminatedUnion('v', [ClickEventV1]);
export type ClickEvent = z.infer<typeof ClickEvent>;

/** Reports feature names in `values` that are not exactly the names in `expected`. */
function checkNames(
  values: Record<string, unknown>,
  expected: readonly string[],
  group: 'dense' | 'sparse',
  ctx: z.RefinementCtx,
): void {
  const known = new Set(expected);
  for (const name of expected) {
    if (!Object.hasOwn(values, name)) {
      ctx.addIssue({
        code: 'custom',
        path: [group, name],
        message: 'missing feature (send null for a missing value)',
      });
    }
  }
  for (const name of Object.keys(values)) {
    if (!known.has(name)) {
      ctx.addIssue({ code: 'custom', path: [group, name], message: 'unknown feature' });
    }
  }
}

/**
 * The click-event schema for one feature spec: the versioned shape plus exactly the spec's dense
 * and sparse feature names (unknown and missing names are rejected, each with its path).
 */
export function clickEventSchema(spec: FeatureSpec) {
  const denseNames = spec.dense.map((f) => f.name);
  const sparseNames = spec.sparse.map((f) => f.name);
  return ClickEvent.superRefine((event, ctx) => {
    checkNames(event.dense, denseNames, 'dense', ctx);
    checkNames(event.sparse, sparseNames, 'sparse', ctx);
  });
}
