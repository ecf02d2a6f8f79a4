import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClickEvent } from '../../../schemas/click-event';
import { Manifest } from '../../../schemas/manifest';
import { LoadedVersion } from '../../../src/serve/loaded-version';
import { createPredictBatcher } from '../../../src/serve/predict-batcher';
import { eventsOfInstances, plainlyValid } from '../../../src/serve/predict-request';
import { clickEventSchema } from '../../../schemas/click-event';
import { eventFields } from '../../../schemas/feature-spec';
import { parseServedModel, parseVersionText } from '../../../src/serve/version-policy';
import { ConfigError } from '../../../src/errors';
import { spec } from '../stream/fixtures';

/** A version whose predictor returns d1 of each event and records every call's size. */
function fakeVersion(version = 'v000001', fail = false) {
  const calls: number[] = [];
  let disposed = 0;
  const manifest = Manifest.parse({
    v: 1,
    model: 'm',
    version,
    parent: null,
    phase: 'offline',
    createdAt: new Date(0).toISOString(),
    configHash: 'sha256:x',
    dataRange: { kind: 'offline', source: 'test', rows: 0 },
    metrics: {},
    files: [],
  });
  const loaded = new LoadedVersion(
    {
      version: manifest.version,
      predict: (events: readonly ClickEvent[]) => {
        if (fail) throw new Error('boom');
        calls.push(events.length);
        return Float32Array.from(events, (e) => e.dense['d1'] ?? -1);
      },
      dispose: () => void disposed++,
    },
    spec,
    manifest,
  );
  return { loaded, calls, disposed: () => disposed };
}

function events(from: number, n: number): ClickEvent[] {
  const made = eventsOfInstances(
    Array.from({ length: n }, (_, i) => ({
      dense: { d1: from + i, d2: null },
      sparse: { c1: 'a', c2: 1 },
    })),
    spec,
  );
  assert.ok('events' in made);
  return made.events;
}

describe('serving units', () => {
  it('micro-batching merges concurrent requests into one predict call and splits the answers', async () => {
    const { loaded, calls } = fakeVersion();
    const batcher = createPredictBatcher({ maxRows: 100 });
    const answers = await Promise.all([
      batcher.score(loaded, events(0, 2)),
      batcher.score(loaded, events(10, 3)),
      batcher.score(loaded, events(20, 1)),
    ]);
    assert.deepEqual(calls, [6]);
    assert.deepEqual(
      answers.map((a) => Array.from(a)),
      [[0, 1], [10, 11, 12], [20]],
    );
  });

  it('a full batch is scored at once; a failed predict rejects every request of its batch', async () => {
    const { loaded, calls } = fakeVersion();
    const batcher = createPredictBatcher({ maxRows: 4 });
    const first = batcher.score(loaded, events(0, 3));
    const second = batcher.score(loaded, events(3, 2));
    assert.deepEqual(calls, [5]); // synchronously, on reaching the cap
    assert.deepEqual(Array.from(await second), [3, 4]);
    assert.deepEqual(Array.from(await first), [0, 1, 2]);

    const broken = fakeVersion('v000002', true).loaded;
    const results = await Promise.allSettled([
      batcher.score(broken, events(0, 1)),
      batcher.score(broken, events(1, 1)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });

  it('a retired version is disposed only after its last lease is released', () => {
    const { loaded, disposed } = fakeVersion();
    loaded.acquire();
    loaded.retire();
    assert.equal(disposed(), 0);
    assert.equal(loaded.predict(events(0, 1))[0], 0);
    loaded.release();
    assert.equal(disposed(), 1);
    assert.throws(() => loaded.acquire(), /disposed/);
  });

  it('the validation fast path accepts only what the click-event schema accepts', () => {
    const names = eventFields(spec);
    const schema = clickEventSchema(spec);
    const good = { dense: { d1: 1.5, d2: null }, sparse: { c1: 'é😀', c2: 3 } };
    const records: unknown[] = [
      good,
      { ...good, sparse: { c1: null, c2: null } },
      { ...good, dense: { d1: 1 } },
      { ...good, dense: { d1: 1, d2: 2, d3: 3 } },
      { ...good, dense: { d1: '1', d2: 2 } },
      { ...good, dense: { d1: true, d2: 2 } },
      { ...good, sparse: { c1: 'x'.repeat(1025), c2: 1 } },
      { ...good, sparse: { c1: 'x'.repeat(1024), c2: 1 } },
      { ...good, sparse: { c1: '\ud800', c2: 1 } },
      { ...good, sparse: { c1: ['a'], c2: 1 } },
      { ...good, sparse: { c1: { a: 1 }, c2: 1 } },
      JSON.parse('{"dense":{"d1":1,"__proto__":2},"sparse":{"c1":"a","c2":1}}'),
      JSON.parse('{"dense":{"d1":1,"d2":2,"__proto__":2},"sparse":{"c1":"a","c2":1}}'),
      { ...good, label: 1 },
      { dense: good.dense },
      [good.dense, good.sparse],
      null,
    ];
    let accepted = 0;
    for (const [i, record] of records.entries()) {
      const zodAccepts =
        schema.safeParse({
          v: 1,
          eventId: 'x',
          eventTime: 0,
          label: 0,
          ...(record as object),
        }).success && Object.keys(record as object).length === 2;
      if (plainlyValid(record, names)) {
        accepted++;
        assert.ok(zodAccepts, `record ${i}: the fast path accepts what zod refuses`);
      }
      // Either way the request's verdict is zod's.
      assert.equal('events' in eventsOfInstances([record], spec), zodAccepts, `record ${i}`);
    }
    assert.equal(accepted, 3);
  });

  it('parses --model NAME[@latest|promoted|version]', () => {
    assert.deepEqual(parseServedModel('ctr'), { model: 'ctr', policy: { kind: 'latest' } });
    assert.deepEqual(parseServedModel('ctr@promoted'), {
      model: 'ctr',
      policy: { kind: 'promoted' },
    });
    assert.deepEqual(parseServedModel('a.b@42'), {
      model: 'a.b',
      policy: { kind: 'pinned', version: 'v000042' },
    });
    assert.equal(parseVersionText('v000007'), 'v000007');
    assert.equal(parseVersionText('0'), null);
    assert.throws(() => parseServedModel('ctr@newest'), ConfigError);
    assert.throws(() => parseServedModel('../x'), /not a model name/);
  });
});
