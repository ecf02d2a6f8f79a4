import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DailyRetrainingInput, OfflineTrainingInput } from '../../../schemas/workflow-io';

describe('offline training input', () => {
  const base = { model: 'm', trainConfig: {} };

  it('trusts a silent attempt for 2 minutes unless told otherwise', () => {
    assert.equal(OfflineTrainingInput.parse(base).heartbeatTimeoutSeconds, 120);
    assert.equal(
      OfflineTrainingInput.parse({ ...base, heartbeatTimeoutSeconds: 10 }).heartbeatTimeoutSeconds,
      10,
    );
  });

  it('says what is wrong with a heartbeat timeout', () => {
    for (const [value, message] of [
      [2, /heartbeatTimeoutSeconds must be at least 5/],
      [7200, /heartbeatTimeoutSeconds must be at most 3600/],
      ['10', /heartbeatTimeoutSeconds must be a number of seconds/],
    ] as const) {
      const parsed = OfflineTrainingInput.safeParse({ ...base, heartbeatTimeoutSeconds: value });
      assert.equal(parsed.success, false);
      assert.match(parsed.error?.issues[0]?.message ?? '', message);
      assert.deepEqual(parsed.error?.issues[0]?.path, ['heartbeatTimeoutSeconds']);
    }
  });

  it('a daily run passes its own offline heartbeat timeout, checked the same way', () => {
    const daily = { model: 'm', trainConfig: {}, topic: 't' };
    assert.equal(DailyRetrainingInput.parse(daily).offlineHeartbeatTimeoutSeconds, undefined);
    assert.equal(
      DailyRetrainingInput.parse({ ...daily, offlineHeartbeatTimeoutSeconds: 15 })
        .offlineHeartbeatTimeoutSeconds,
      15,
    );
    const bad = DailyRetrainingInput.safeParse({ ...daily, offlineHeartbeatTimeoutSeconds: 1 });
    assert.match(bad.error?.issues[0]?.message ?? '', /at least 5/);
    assert.deepEqual(bad.error?.issues[0]?.path, ['offlineHeartbeatTimeoutSeconds']);
  });
});
