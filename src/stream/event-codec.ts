import { isUtf8 } from 'node:buffer';
import {
  MAX_EVENT_BYTES,
  clickEventSchema,
  hasLoneSurrogate,
  type ClickEvent,
} from '../../schemas/click-event';
import type { EventValidation } from '../../schemas/event-validation';
import { eventFields, hasComputedFeatures, type FeatureSpec } from '../../schemas/feature-spec';
import { formatZodIssues } from '../../schemas/zod-errors';
import type { ColumnarBatch } from '../data/batch';
import { decodeRows } from '../data/column-decode';
import { encodeRawBatch } from '../data/raw-batch';
import { InvalidRowPolicy } from '../data/source';
import { createFastEventCheck } from './fast-event-check';

/**
 * Click events on the wire are UTF-8 JSON, one event per Kafka message. Decoding validates
 * against the feature spec and never throws: a bad message is a value (its reason goes to the
 * dead-letter topic), not an exception that would stop training.
 */

/** The outcome of decoding one message. */
export type DecodeResult = { ok: ClickEvent } | { error: string };

/** Encodes an event as UTF-8 JSON. */
export function encodeEvent(event: ClickEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** Options of {@link createEventDecoder}. */
export interface DecoderOptions {
  /** Largest accepted message in bytes. @default MAX_EVENT_BYTES (64 KiB) */
  maxBytes?: number;
  /** Event-time bounds (schemas/event-validation). @default 1 h of future skew, no lower bound */
  validation?: Pick<EventValidation, 'maxFutureSkewSeconds' | 'minEventTime'>;
  /** The consumer's clock, epoch ms (tests fix it). @default Date.now */
  now?: () => number;
}

/** `ms` as ISO text, or the number alone when it is outside the Date range. */
function isoTime(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/**
 * The message value as text. Invalid UTF-8 is refused rather than decoded: a lenient decoder
 * turns each bad byte into U+FFFD, so two different ids (or categorical values) would become
 * the same text and be trained and hashed as one.
 */
function messageText(value: Buffer | string): { text: string } | { error: string } {
  if (typeof value === 'string') {
    return hasLoneSurrogate(value)
      ? { error: 'bad UTF-8: the value has an unpaired surrogate' }
      : { text: value };
  }
  return isUtf8(value)
    ? { text: value.toString('utf8') }
    : { error: 'bad UTF-8: the message value is not valid UTF-8 (original bytes kept in the DLQ)' };
}

/**
 * Creates a decoder for events of `spec`. Reasons start with a kind (`empty message`,
 * `oversized`, `bad UTF-8`, `bad JSON`, `invalid event`, `event time out of range`) and a colon,
 * so the DLQ can be counted by kind.
 */
export function createEventDecoder(
  spec: FeatureSpec,
  options: DecoderOptions = {},
): (value: Buffer | string | null) => DecodeResult {
  const schema = clickEventSchema(spec);
  const fastCheck = createFastEventCheck(spec);
  const maxBytes = options.maxBytes ?? MAX_EVENT_BYTES;
  const skewMs = (options.validation?.maxFutureSkewSeconds ?? 3600) * 1000;
  const minEventTime = options.validation?.minEventTime ?? null;
  const now = options.now ?? Date.now;
  const derives = hasComputedFeatures(spec);
  return (value) => {
    if (value === null || value.length === 0) return { error: 'empty message: no value' };
    const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    if (bytes > maxBytes) return { error: `oversized: ${bytes} bytes > limit ${maxBytes}` };
    const text = messageText(value);
    if ('error' in text) return text;
    let json: unknown;
    try {
      json = JSON.parse(text.text);
    } catch (e) {
      return { error: `bad JSON: ${e instanceof Error ? e.message : String(e)}` };
    }
    // The common well-formed event skips zod; anything else gets zod's exact verdict.
    const fast = fastCheck(json, text.text);
    const parsed =
      fast === undefined ? schema.safeParse(json) : { success: true as const, data: fast };
    if (!parsed.success) {
      return { error: `invalid event: ${formatZodIssues(parsed.error).replace(/\n/g, '; ')}` };
    }
    const time = parsed.data.eventTime;
    const clock = now();
    if (time > clock + skewMs) {
      return {
        error:
          `event time out of range: eventTime ${time} (${isoTime(time)}) is later than the ` +
          `consumer's clock + maxFutureSkewSeconds ${skewMs / 1000} (${isoTime(clock + skewMs)})`,
      };
    }
    if (minEventTime !== null && time < minEventTime) {
      return {
        error:
          `event time out of range: eventTime ${time} (${isoTime(time)}) is earlier than ` +
          `minEventTime ${minEventTime} (${isoTime(minEventTime)})`,
      };
    }
    if (derives) {
      const problem = deriveProblem(parsed.data, spec);
      if (problem !== null) return { error: `invalid event: ${problem}` };
    }
    return { ok: parsed.data };
  };
}

/** Keeps the first rejected row's reason instead of throwing. */
class FirstProblem extends InvalidRowPolicy {
  problem: string | null = null;
  constructor() {
    super('skip');
  }
  override reject(_where: string, problem: string): void {
    this.problem ??= problem;
  }
}

/** Why an event's derived features cannot be computed (e.g. a bad timestamp), or null. */
function deriveProblem(event: ClickEvent, spec: FeatureSpec): string | null {
  const policy = new FirstProblem();
  decodeRows(eventColumns([event], spec), 0, 1, spec, () => '', policy);
  return policy.problem;
}

/** Events as named columns, like a file's: the label and every field the spec reads. */
function eventColumns(events: readonly ClickEvent[], spec: FeatureSpec): Map<string, unknown[]> {
  const { dense, sparse } = eventFields(spec);
  const named = new Map<string, unknown[]>([[spec.label, events.map((e) => e.label)]]);
  for (const name of dense)
    named.set(
      name,
      events.map((e) => e.dense[name] ?? null),
    );
  for (const name of sparse)
    named.set(
      name,
      events.map((e) => e.sparse[name] ?? null),
    );
  return named;
}

/**
 * Turns validated events into a {@link ColumnarBatch} through the offline readers' encoding
 * (src/data/raw-batch: the same dense transforms and categorical hashing), so a value means the
 * same thing online and offline. Unseen categorical values are simply hashed.
 */
export function eventsToBatch(events: readonly ClickEvent[], spec: FeatureSpec): ColumnarBatch {
  // Decoded events passed the spec's schema and derive check, so no row is rejected here.
  const raw = decodeRows(
    eventColumns(events, spec),
    0,
    events.length,
    spec,
    (r) => `event ${events[r]?.eventId ?? r}`,
    new InvalidRowPolicy('error'),
  );
  return encodeRawBatch(raw, spec);
}
