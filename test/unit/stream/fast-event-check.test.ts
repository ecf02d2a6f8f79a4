import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clickEventSchema } from '../../../schemas/click-event';
import { createEventDecoder, encodeEvent } from '../../../src/stream/event-codec';
import { createFastEventCheck } from '../../../src/stream/fast-event-check';
import { createRng, type Rng } from '../../../src/rng';
import { event, spec } from './fixtures';

const fast = createFastEventCheck(spec);
const schema = clickEventSchema(spec);

type Json = Record<string, unknown>;

/** One random change to an event's JSON text or value, many of them invalid. */
const MUTATIONS: Array<(e: Json, rng: Rng) => Json | string> = [
  (e) => e,
  (e) => ({ ...e, v: 2 }),
  (e) => ({ ...e, v: '1' }),
  (e) => ({ ...e, extra: 1 }),
  (e) => {
    const { label: _label, ...rest } = e;
    return rest;
  },
  (e) => ({ ...e, label: 2 }),
  (e) => ({ ...e, label: true }),
  (e) => ({ ...e, label: -0 }),
  (e) => ({ ...e, eventTime: 1.5 }),
  (e) => ({ ...e, eventTime: -1 }),
  (e) => ({ ...e, eventTime: 2 ** 60 }),
  (e) => ({ ...e, eventTime: '1700000000000' }),
  (e) => ({ ...e, eventId: '' }),
  (e) => ({ ...e, eventId: 'x'.repeat(256) }),
  (e) => ({ ...e, eventId: 'x'.repeat(257) }),
  (e) => ({ ...e, eventId: 7 }),
  (e) => ({ ...e, dense: { ...(e['dense'] as Json), d3: 1 } }),
  (e) => ({ ...e, dense: { d1: 1 } }),
  (e) => ({ ...e, dense: { d1: '1', d2: null } }),
  (e) => ({ ...e, dense: { d1: -0, d2: null } }),
  (e) => ({ ...e, dense: [1, 2] }),
  (e) => ({ ...e, dense: null }),
  (e, rng) => ({ ...e, dense: { d1: rng.next() * 1e6 - 5e5, d2: null } }),
  (e) => ({ ...e, sparse: { c1: 'x'.repeat(1024), c2: null } }),
  (e) => ({ ...e, sparse: { c1: 'x'.repeat(1025), c2: null } }),
  (e) => ({ ...e, sparse: { c1: true, c2: null } }),
  (e) => ({ ...e, sparse: { c1: { a: 1 }, c2: null } }),
  (e) => ({ ...e, sparse: { c1: 12.5, c2: -3 } }),
  (e) => ({ ...e, sparse: { c1: '😀 ü', c2: 'é' } }),
  // Texts JSON.stringify cannot make: escapes, a lone surrogate, `__proto__` keys, 1e400.
  (e) => JSON.stringify(e).replace('"c1":', '"__proto__":1,"c1":'),
  (e) => JSON.stringify(e).replace('"d2":', '"__proto__":1,"d2":'),
  (e) => JSON.stringify(e).replace('"v":1', '"__proto__":{},"v":1'),
  (e) => JSON.stringify({ ...e, eventId: 'a\ud800' }),
  (e) => JSON.stringify(e).replace(/"eventId":"[^"]*"/, '"eventId":"\\u0041"'),
  (e) => JSON.stringify(e).replace(/"eventTime":\d+/, '"eventTime":1e400'),
  (e) => JSON.stringify(e).replace(/"d1":[^,}]+/, '"d1":1e400'),
  () => '[1,2,3]',
  () => 'null',
  () => '"text"',
];

describe('fast click-event check', () => {
  it('accepts only what zod accepts, with the same value (random events and mutations)', () => {
    const rng = createRng(17);
    let fastAccepted = 0;
    let zodAccepted = 0;
    for (let i = 0; i < 4000; i++) {
      const base = event(rng.int(1000)) as unknown as Json;
      let value: Json | string = base;
      // Up to three mutations on top of each other.
      for (let k = rng.int(4); k > 0 && typeof value !== 'string'; k--) {
        value = (MUTATIONS[rng.int(MUTATIONS.length)] as (e: Json, rng: Rng) => Json | string)(
          value,
          rng,
        );
      }
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        continue; // a text edit on an already mutated event can break the JSON: not this test's
      }
      const byZod = schema.safeParse(json);
      const byFast = fast(json, text);
      if (byZod.success) zodAccepted++;
      if (byFast === undefined) continue;
      fastAccepted++;
      assert.ok(byZod.success, `fast path accepted what zod rejects: ${text}`);
      assert.deepEqual(byFast, byZod.data, text);
    }
    // The common case takes the fast path; both verdicts were exercised.
    assert.ok(fastAccepted > 1000, `fast path accepted ${fastAccepted}`);
    assert.ok(zodAccepted > fastAccepted, `zod accepted ${zodAccepted}, fast ${fastAccepted}`);
  });

  it('leaves the decoder verdicts and reasons as they were', () => {
    const decode = createEventDecoder(spec, { now: () => 1_800_000_000_000 });
    assert.deepEqual(decode(encodeEvent(event(3))), { ok: event(3) });
    const missing = decode(Buffer.from(JSON.stringify({ ...event(1), dense: { d1: 1 } })));
    assert.ok('error' in missing && missing.error.startsWith('invalid event: '), String(missing));
    assert.match((missing as { error: string }).error, /dense\.d2/);
    const surrogate = decode(Buffer.from('{"v":1,"eventId":"a\\ud800"}'));
    assert.ok('error' in surrogate && surrogate.error.startsWith('invalid event: '));
  });
});
