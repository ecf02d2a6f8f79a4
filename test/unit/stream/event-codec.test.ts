import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_EVENT_BYTES } from '../../../schemas/click-event';
import { hashCategorical } from '../../../src/data/hashing';
import { createEventDecoder, encodeEvent, eventsToBatch } from '../../../src/stream/event-codec';
import { event, spec } from './fixtures';

const decode = createEventDecoder(spec);

function reason(value: Buffer | string | null): string {
  const r = decode(value);
  assert.ok('error' in r, `expected an error for ${String(value).slice(0, 80)}`);
  return r.error;
}

function withFields(patch: (e: Record<string, unknown>) => void): string {
  const e = JSON.parse(JSON.stringify(event(4))) as Record<string, unknown>;
  patch(e);
  return JSON.stringify(e);
}

describe('event codec', () => {
  it('round-trips a valid event through JSON', () => {
    const e = event(5);
    assert.deepEqual(decode(encodeEvent(e)), { ok: e });
    assert.deepEqual(decode(JSON.stringify(e)), { ok: e });
  });

  it('rejects bad JSON, empty and oversized messages with their kind', () => {
    assert.match(reason(Buffer.from('{"v":1,')), /^bad JSON: /);
    assert.match(reason(Buffer.from('{"v":1,"x":NaN}')), /^bad JSON: /);
    assert.match(reason(null), /^empty message/);
    assert.match(reason(Buffer.alloc(0)), /^empty message/);
    const big = withFields((e) => {
      e['eventId'] = 'x'.repeat(MAX_EVENT_BYTES);
    });
    assert.match(reason(big), /^oversized: \d+ bytes > limit 65536$/);
    const small = createEventDecoder(spec, { maxBytes: 50 });
    assert.ok('error' in small(encodeEvent(event(1))));
  });

  it('names the field of a missing, unknown or mistyped feature', () => {
    const missing = reason(withFields((e) => delete (e['dense'] as Record<string, unknown>)['d2']));
    assert.match(missing, /^invalid event: dense\.d2: missing feature/);
    const unknown = reason(
      withFields((e) => ((e['sparse'] as Record<string, unknown>)['c9'] = 'x')),
    );
    assert.match(unknown, /sparse\.c9: unknown feature/);
    const wrongType = reason(
      withFields((e) => ((e['dense'] as Record<string, unknown>)['d1'] = '3')),
    );
    assert.match(wrongType, /dense\.d1: /);
    assert.match(reason(withFields((e) => (e['label'] = 2))), /label: /);
    assert.match(reason(withFields((e) => delete e['eventId'])), /eventId: /);
    assert.match(reason(withFields((e) => (e['eventTime'] = '2026-01-01'))), /eventTime: /);
    assert.match(reason(withFields((e) => (e['extra'] = 1))), /extra/);
    assert.match(reason(withFields((e) => (e['v'] = 2))), /v: /);
    assert.match(reason('[1,2]'), /^invalid event: /);
  });

  it('rejects non-finite numbers', () => {
    // JSON has no NaN/Infinity literals, but 1e999 parses to Infinity.
    const inf =
      '{"v":1,"eventId":"a","eventTime":1,"label":0,"dense":{"d1":1e999,"d2":null},"sparse":{"c1":"a","c2":1}}';
    assert.match(reason(inf), /dense\.d1: /);
  });

  it('encodes events like the offline readers: same transforms, same hashing', () => {
    const events = [event(3), event(4)];
    const b = eventsToBatch(events, spec);
    assert.equal(b.size, 2);
    assert.equal(b.numDense, 2);
    assert.equal(b.numSparse, 2);
    assert.deepEqual([...b.labels], [1, 0]);
    // d1 = log1p(3); d2 = clip(-1.5) = -1; event 4: log1p(4), missing d2 → 0.
    const expected = [Math.log1p(3), -1, Math.log1p(4), 0];
    expected.forEach((v, i) => assert.ok(Math.abs((b.dense[i] as number) - v) < 1e-6));
    assert.deepEqual(
      [...b.sparse],
      [
        hashCategorical('user-3', 0, 100),
        hashCategorical(3, 1, 10),
        hashCategorical('user-4', 0, 100),
        hashCategorical(4, 1, 10),
      ],
    );
  });

  it('hashes a missing categorical to the missing bucket', () => {
    const b = eventsToBatch([event(1, { sparse: { c1: null, c2: '' } })], spec);
    assert.deepEqual([...b.sparse], [hashCategorical(null, 0, 100), hashCategorical(null, 1, 10)]);
  });
});
