import { z } from 'zod';
import { eventFields, type FeatureSpec } from './feature-spec';

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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `text` has an unpaired UTF-16 surrogate (e.g. from the JSON escape `"\\ud800"`):
 * such a string has no UTF-8 form.
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * Text that is valid Unicode: an unpaired surrogate has no UTF-8 form, so writing it anywhere (the
 * DLQ, a manifest, a hash input) would silently turn it into U+FFFD and merge distinct values.
 */
function unicodeText(max: number) {
  return z
    .string()
    .max(max)
    .refine((s) => !hasLoneSurrogate(s), 'invalid Unicode: unpaired surrogate');
}

/** A raw dense value; `null` is an explicitly missing value (becomes 0 after the transform). */
const DenseValue = z.number().nullable();
/** A raw categorical value, hashed into its table like offline data; `null` is missing. */
const SparseValue = z.union([unicodeText(1024), z.number()]).nullable();

/** Version 1 of the click event. Feature names are checked against a FeatureSpec by `clickEventSchema`. */
export const ClickEventV1 = z.strictObject({
  v: z.literal(1),
  eventId: unicodeText(256).min(1),
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON.parse makes a `"__proto__"` key an own property (no prototype is touched), but zod's
 * record leaves it out of its output without an issue, so the name check on the output never
 * sees it. It is looked for on the input instead. (A top-level `__proto__` is already an
 * unrecognized key of the strict object.)
 */
const NoProtoFeature = z.unknown().superRefine((input, ctx) => {
  if (!isObject(input)) return;
  for (const group of ['dense', 'sparse'] as const) {
    const values = input[group];
    if (isObject(values) && Object.hasOwn(values, '__proto__')) {
      ctx.addIssue({ code: 'custom', path: [group, '__proto__'], message: 'unknown feature' });
    }
  }
});

/**
 * The click-event schema for one feature spec: the versioned shape plus exactly the fields the
 * spec reads (unknown and missing names are rejected, each with its path). For a spec without
 * `from`/`derive`/`cross` these are its dense and sparse feature names; a spec that derives
 * features takes their source columns instead, e.g. `sparse.ts` for `hour` derived from `ts`
 * (see `eventFields`), and the consumer derives them as the file readers do.
 */
export function clickEventSchema(spec: FeatureSpec) {
  const { dense: denseNames, sparse: sparseNames } = eventFields(spec);
  return NoProtoFeature.pipe(
    ClickEvent.superRefine((event, ctx) => {
      checkNames(event.dense, denseNames, 'dense', ctx);
      checkNames(event.sparse, sparseNames, 'sparse', ctx);
    }),
  );
}
