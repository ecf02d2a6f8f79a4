import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clickEventSchema } from '../../../schemas/click-event';
import { EventValidation } from '../../../schemas/event-validation';
import { createEventDecoder, encodeEvent } from '../../../src/stream/event-codec';
import { event, spec } from './fixtures';

/** The consumer's clock in these tests: 2026-12-01T00:00:00Z. */
const NOW = Date.UTC(2026, 11, 1);
const YEAR_2100 = Date.UTC(2100, 0, 1);

function decoder(validation: object = {}) {
  return createEventDecoder(spec, {
    validation: EventValidation.parse(validation),
    now: () => NOW,
  });
}

function reasonOf(decode: ReturnType<typeof decoder>, value: Buffer | string): string {
  const r = decode(value);
  assert.ok('error' in r, `expected an error for ${String(value).slice(0, 120)}`);
  return r.error;
}

/** A valid event's JSON with `text` spliced in right after `"dense":{` (or `"sparse":{`). */
function withRawKey(group: 'dense' | 'sparse', raw: string): string {
  return encodeEvent(event(2, { eventTime: NOW }))
    .toString()
    .replace(`"${group}":{`, `"${group}":{${raw},`);
}

describe('event time bounds', () => {
  it('dead-letters an event in year 2100, naming the field and the bound', () => {
    const r = reasonOf(decoder(), encodeEvent(event(1, { eventTime: YEAR_2100 })));
    assert.match(
      r,
      /^event time out of range: eventTime 4102444800000 \(2100-01-01T00:00:00\.000Z\)/,
    );
    assert.match(r, /maxFutureSkewSeconds 3600 \(2026-12-01T01:00:00\.000Z\)/);
  });

  it('accepts up to the skew ahead of the clock, and anything older by default', () => {
    const decode = decoder();
    for (const eventTime of [NOW + 3_600_000, NOW, 1, 0, Date.UTC(1995, 0, 9)]) {
      assert.ok('ok' in decode(encodeEvent(event(1, { eventTime }))), `eventTime ${eventTime}`);
    }
    assert.ok('error' in decode(encodeEvent(event(1, { eventTime: NOW + 3_600_001 }))));
  });

  it('uses the configured skew and lower bound (ms or ISO)', () => {
    const tight = decoder({ maxFutureSkewSeconds: 0 });
    assert.match(
      reasonOf(tight, encodeEvent(event(1, { eventTime: NOW + 1 }))),
      /maxFutureSkewSeconds 0 /,
    );
    for (const minEventTime of ['2000-01-01T00:00:00Z', Date.UTC(2000, 0, 1)]) {
      const floor = decoder({ minEventTime });
      const r = reasonOf(floor, encodeEvent(event(1, { eventTime: 1000 })));
      assert.equal(
        r,
        'event time out of range: eventTime 1000 (1970-01-01T00:00:01.000Z) is earlier than ' +
          'minEventTime 946684800000 (2000-01-01T00:00:00.000Z)',
      );
      assert.ok('ok' in floor(encodeEvent(event(1, { eventTime: Date.UTC(2000, 0, 1) }))));
    }
  });

  it('rejects bad settings with the field named', () => {
    const bad = EventValidation.safeParse({ maxFutureSkewSeconds: -1, minEventTime: 'yesterday' });
    assert.equal(bad.success, false);
    const paths = bad.error?.issues.map((i) => i.path.join('.')) ?? [];
    assert.ok(paths.includes('maxFutureSkewSeconds') && paths.includes('minEventTime'), `${paths}`);
    assert.deepEqual(EventValidation.parse({}), { maxFutureSkewSeconds: 3600, minEventTime: null });
  });
});

describe('invalid UTF-8 and unpaired surrogates', () => {
  const decode = decoder();

  it('refuses invalid UTF-8 bytes inside eventId instead of rewriting them to U+FFFD', () => {
    const json = encodeEvent(event(1, { eventId: 'id-XX', eventTime: NOW }));
    const at = json.indexOf('XX');
    const bytes = Buffer.from(json);
    bytes[at] = 0xff; // never valid in UTF-8
    bytes[at + 1] = 0xc3; // a lead byte without its continuation
    assert.match(reasonOf(decode, bytes), /^bad UTF-8: /);
  });

  it('refuses invalid UTF-8 anywhere in the value (a sparse value, an overlong encoding)', () => {
    const json = encodeEvent(event(1, { eventTime: NOW }));
    const c1 = json.indexOf('user-');
    const overlong = Buffer.concat([
      json.subarray(0, c1),
      Buffer.from([0xc0, 0xaf]),
      json.subarray(c1),
    ]);
    assert.match(reasonOf(decode, overlong), /^bad UTF-8: /);
  });

  it('accepts valid multi-byte UTF-8', () => {
    const e = event(1, { eventId: 'clic-é-😀-中', eventTime: NOW, sparse: { c1: 'ünï', c2: 1 } });
    assert.deepEqual(decode(encodeEvent(e)), { ok: e });
  });

  it('refuses an unpaired surrogate escaped in the JSON, in eventId or a sparse value', () => {
    const id = encodeEvent(event(1, { eventTime: NOW }))
      .toString()
      .replace('"e1"', '"e\\ud800"');
    assert.match(
      reasonOf(decode, id),
      /^invalid event: eventId: invalid Unicode: unpaired surrogate/,
    );
    const value = encodeEvent(event(1, { eventTime: NOW }))
      .toString()
      .replace('"user-1"', '"user-\\udc00"');
    assert.match(reasonOf(decode, value), /sparse\.c1: invalid Unicode/);
    // A surrogate pair written as escapes is a valid character.
    const pair = id.replace('"e\\ud800"', '"e\\ud83d\\ude00"');
    assert.ok('ok' in decode(pair));
  });
});

describe('__proto__ and prototype pollution', () => {
  const decode = decoder();

  it('reports a __proto__ key inside dense or sparse as an unknown feature', () => {
    assert.match(
      reasonOf(decode, withRawKey('dense', '"__proto__":1')),
      /^invalid event: dense\.__proto__: unknown feature/,
    );
    assert.match(
      reasonOf(decode, withRawKey('sparse', '"__proto__":{"c1":"x"}')),
      /sparse\.__proto__: unknown feature/,
    );
    // Through the schema alone, too (what every other user of the schema gets).
    const parsed = clickEventSchema(spec).safeParse(
      JSON.parse(withRawKey('dense', '"__proto__":{"d1":5}')),
    );
    assert.equal(parsed.success, false);
  });

  it('reports the other Object.prototype names as unknown features', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      assert.match(reasonOf(decode, withRawKey('dense', `"${name}":1`)), /unknown feature/);
    }
  });

  it('pollutes no prototype, whatever the event carries', () => {
    const attempts = [
      withRawKey('dense', '"__proto__":{"polluted":1}'),
      withRawKey('sparse', '"__proto__":{"polluted":1}'),
      encodeEvent(event(1, { eventTime: NOW }))
        .toString()
        .replace('{"v":1', '{"__proto__":{"polluted":1},"v":1'),
      encodeEvent(event(1, { eventTime: NOW }))
        .toString()
        .replace('{"v":1', '{"constructor":{"prototype":{"polluted":1}},"v":1'),
    ];
    for (const text of attempts) {
      assert.ok('error' in decode(text), text);
      assert.ok('error' in decode(Buffer.from(text)), text);
    }
    assert.equal((Object.prototype as Record<string, unknown>)['polluted'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('still accepts a valid event and gives plain feature maps', () => {
    const r = decode(encodeEvent(event(3, { eventTime: NOW })));
    assert.ok('ok' in r);
    assert.equal(Object.getPrototypeOf(r.ok.dense), Object.prototype);
    assert.deepEqual(Object.keys(r.ok.dense), ['d1', 'd2']);
  });
});
