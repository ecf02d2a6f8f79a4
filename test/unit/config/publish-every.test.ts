import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecurringTrainingInput } from '../../../schemas/workflow-io';

const base = { model: 'm', fromVersion: 'v000001', topic: 'clicks' };

describe('recurring publish cadence (publishEvery and its older names)', () => {
  it('defaults to 10,000 events or 60 seconds, whichever comes first', () => {
    const parsed = RecurringTrainingInput.parse(base);
    assert.deepEqual(parsed.publishEvery, { events: 10_000, seconds: 60, exact: false });
    assert.equal(parsed.eventsPerVersion, 10_000);
    assert.equal(parsed.publishEverySeconds, 60);
  });

  it('takes publishEvery, each field defaulting on its own', () => {
    const parsed = RecurringTrainingInput.parse({ ...base, publishEvery: { events: 25_000 } });
    assert.deepEqual(parsed.publishEvery, { events: 25_000, seconds: 60, exact: false });
    assert.equal(parsed.eventsPerVersion, 25_000, 'the older names carry the resolved values');
  });

  it('still takes eventsPerVersion and publishEverySeconds (existing callers)', () => {
    const parsed = RecurringTrainingInput.parse({
      ...base,
      eventsPerVersion: 4_000,
      publishEverySeconds: 5,
    });
    assert.deepEqual(parsed.publishEvery, { events: 4_000, seconds: 5, exact: false });
    // A parsed input parses again to itself (continueAsNew hands it back).
    assert.deepEqual(RecurringTrainingInput.parse(parsed), parsed);
  });

  it('takes exact: versions of exactly `events` (a boundary otherwise may be deferred)', () => {
    const parsed = RecurringTrainingInput.parse({
      ...base,
      publishEvery: { events: 800, exact: true },
    });
    assert.deepEqual(parsed.publishEvery, { events: 800, seconds: 60, exact: true });
    assert.deepEqual(RecurringTrainingInput.parse(parsed), parsed);
    const bad = RecurringTrainingInput.safeParse({ ...base, publishEvery: { exact: 'yes' } });
    assert.deepEqual(bad.error?.issues[0]?.path, ['publishEvery', 'exact']);
  });

  it('names the field when the two names disagree or a value is bad', () => {
    const conflict = RecurringTrainingInput.safeParse({
      ...base,
      publishEvery: { events: 1_000 },
      eventsPerVersion: 2_000,
    });
    assert.equal(conflict.success, false);
    assert.deepEqual(conflict.error?.issues[0]?.path, ['publishEvery', 'events']);
    assert.match(conflict.error?.issues[0]?.message ?? '', /eventsPerVersion .* is 2000/);
    const bad = RecurringTrainingInput.safeParse({ ...base, publishEvery: { seconds: 0 } });
    assert.deepEqual(bad.error?.issues[0]?.path, ['publishEvery', 'seconds']);
    const typo = RecurringTrainingInput.safeParse({ ...base, publishEvery: { event: 5 } });
    assert.deepEqual(typo.error?.issues[0]?.path, ['publishEvery']);
    assert.match(typo.error?.issues[0]?.message ?? '', /event/);
  });
});
