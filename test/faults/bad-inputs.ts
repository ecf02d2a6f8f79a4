import type { Message } from 'kafkajs';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { encodeEvent } from '../../src/stream/event-codec';
import type { RawRow } from '../../src/stream/replay';

/**
 * The bad inputs the fault suite feeds into the live topic, each with what must happen to it.
 * Schema-valid but harmful events are trained (clipped) or held back by the publish gate;
 * invalid ones go to the dead-letter topic with a reason of the given kind.
 */
export interface BadInput {
  name: string;
  /** What the product must do: `dlq` (dead-lettered, reason kind) or `trained`. */
  expect: { dlq: RegExp } | { trained: true };
  messages: Message[];
}

const YEAR_2100 = Date.UTC(2100, 0, 1);

/** A valid event from a row, as text, so tests can corrupt it. */
function eventJson(id: string, row: RawRow, label: 0 | 1, eventTime: number): string {
  return encodeEvent({
    v: 1,
    eventId: id,
    eventTime,
    label,
    dense: row.dense,
    sparse: row.sparse,
  }).toString('utf8');
}

/**
 * The bad inputs, built from real rows (`template`) of the stream's feature spec. `burst` rows
 * are sent with their labels flipped: schema-valid, statistically poisonous.
 */
export function badInputs(spec: FeatureSpec, template: RawRow, burst: RawRow[]): BadInput[] {
  const now = Date.now();
  const poisonDense = Object.fromEntries(spec.dense.map((f) => [f.name, 1e308]));
  const valid = eventJson('bad-template', template, 1, now);
  const protoKey = valid.replace('"dense":{', '"dense":{"__proto__":1,');
  const badUtf8 = Buffer.concat([
    Buffer.from(valid.replace('"bad-template"', '"bad-utf8-').slice(0, valid.indexOf('"bad-'))),
    Buffer.from('"bad-utf8-'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(valid.slice(valid.indexOf('"bad-template"') + '"bad-template'.length)),
  ]);
  return [
    {
      name: 'poison: label 1, every dense feature 1e308 (schema-valid)',
      expect: { trained: true },
      messages: [
        {
          key: 'bad-poison',
          value: eventJson('bad-poison', { ...template, dense: poisonDense }, 1, now),
        },
      ],
    },
    {
      name: `burst of ${burst.length} mislabelled events (schema-valid)`,
      expect: { trained: true },
      messages: burst.map((row, i) => ({
        key: `bad-flip-${i}`,
        value: eventJson(`bad-flip-${i}`, row, row.label === 1 ? 0 : 1, now),
      })),
    },
    {
      name: 'eventTime in year 2100',
      expect: { dlq: /time|future|skew/i },
      messages: [{ key: 'bad-2100', value: eventJson('bad-2100', template, 0, YEAR_2100) }],
    },
    {
      name: 'invalid UTF-8 inside eventId',
      expect: { dlq: /utf-?8|encoding/i },
      messages: [{ key: 'bad-utf8', value: badUtf8 }],
    },
    {
      name: '`__proto__` key inside dense',
      expect: { dlq: /__proto__|unknown feature|invalid/i },
      messages: [{ key: 'bad-proto', value: protoKey }],
    },
    {
      name: 'truncated JSON',
      expect: { dlq: /JSON/i },
      messages: [{ key: 'bad-json', value: valid.slice(0, 40) }],
    },
  ];
}
