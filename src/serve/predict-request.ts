import { z } from 'zod';
import { clickEventSchema, hasLoneSurrogate, type ClickEvent } from '../../schemas/click-event';
import { eventFields, hasComputedFeatures, type FeatureSpec } from '../../schemas/feature-spec';
import { createEventDecoder } from '../stream/event-codec';

/** One record: exactly the two feature groups (no label, id or time: the server adds those). */
const FeatureRecord = z.strictObject({
  dense: z.record(z.string(), z.unknown()),
  sparse: z.record(z.string(), z.unknown()),
});

/** A problem with the request, at a path like `instances.3.dense.d1`. */
export interface RequestIssue {
  path: string;
  message: string;
}

/** Longest categorical string the click-event schema accepts. */
const MAX_SPARSE_TEXT = 1024;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `values` has exactly the keys `names`, each accepted by `valid`. */
function exactly(
  values: unknown,
  names: readonly string[],
  valid: (v: unknown) => boolean,
): boolean {
  if (!isPlainRecord(values) || Object.keys(values).length !== names.length) return false;
  for (const name of names) {
    if (!Object.hasOwn(values, name) || !valid(values[name])) return false;
  }
  return true;
}

const denseOk = (v: unknown): boolean =>
  v === null || (typeof v === 'number' && Number.isFinite(v));
const sparseOk = (v: unknown): boolean =>
  v === null ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  (typeof v === 'string' && v.length <= MAX_SPARSE_TEXT && !hasLoneSurrogate(v));

/**
 * A conservative fast path for the common case, a well-formed record: it accepts only records
 * the click-event schema accepts (exact feature names, numbers or null, short valid Unicode
 * text), and anything else goes through zod, which names the problem. Validation is most of a
 * request's cost otherwise (zod takes about as long as the prediction itself).
 */
export function plainlyValid(
  record: unknown,
  names: { dense: readonly string[]; sparse: readonly string[] },
): record is Pick<ClickEvent, 'dense' | 'sparse'> {
  return (
    isPlainRecord(record) &&
    Object.keys(record).length === 2 &&
    exactly(record['dense'], names.dense, denseOk) &&
    exactly(record['sparse'], names.sparse, sparseOk)
  );
}

type EventSchema = ReturnType<typeof clickEventSchema>;
const fieldNames = new WeakMap<FeatureSpec, ReturnType<typeof eventFields>>();
const schemas = new WeakMap<FeatureSpec, EventSchema>();
const decoders = new WeakMap<FeatureSpec, ReturnType<typeof createEventDecoder>>();

function pathOf(index: number, path: readonly PropertyKey[]): string {
  return ['instances', index, ...path].map(String).join('.');
}

/**
 * Turns records into click events of `spec` (label 0, time now, id `instance-<i>`), or the
 * issues that make them unscorable, each naming its path. The checks are the click-event
 * schema's (unknown or missing features, value types, Unicode) and, for a spec that derives
 * features, the consumer's derive check, so the service accepts what the trainer accepts.
 */
export function eventsOfInstances(
  instances: readonly unknown[],
  spec: FeatureSpec,
  now = Date.now(),
): { events: ClickEvent[] } | { issues: RequestIssue[] } {
  let schema = schemas.get(spec);
  if (schema === undefined) {
    schema = clickEventSchema(spec);
    schemas.set(spec, schema);
  }
  const derives = hasComputedFeatures(spec);
  let names = fieldNames.get(spec);
  if (names === undefined) {
    names = eventFields(spec);
    fieldNames.set(spec, names);
  }
  const events: ClickEvent[] = [];
  const issues: RequestIssue[] = [];
  instances.forEach((instance, i) => {
    if (!derives && plainlyValid(instance, names)) {
      const { dense, sparse } = instance;
      events.push({ v: 1, eventId: `instance-${i}`, eventTime: now, label: 0, dense, sparse });
      return;
    }
    const record = FeatureRecord.safeParse(instance);
    if (!record.success) {
      for (const issue of record.error.issues)
        issues.push({ path: pathOf(i, issue.path), message: issue.message });
      return;
    }
    // The raw record, not zod's copy: a record drops a `__proto__` key, which the click-event
    // schema must see to refuse it.
    const candidate = {
      v: 1,
      eventId: `instance-${i}`,
      eventTime: now,
      label: 0,
      ...(instance as typeof record.data),
    };
    const parsed = schema.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        issues.push({ path: pathOf(i, issue.path), message: issue.message });
      return;
    }
    if (derives) {
      let decode = decoders.get(spec);
      if (decode === undefined) {
        decode = createEventDecoder(spec, { now: () => now });
        decoders.set(spec, decode);
      }
      const decoded = decode(JSON.stringify(parsed.data));
      if ('error' in decoded) {
        issues.push({ path: pathOf(i, []), message: decoded.error });
        return;
      }
    }
    events.push(parsed.data);
  });
  return issues.length > 0 ? { issues } : { events };
}
