import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import util from 'node:util';
import type { LogEntry } from '@temporalio/worker';
import { WorkerLogger, withoutTaskTokens } from '../../../worker/worker-logger';

const TOKEN = 'CiQ0ZjU2YjVmZC1hYmNkLTRlZjAtOTg3Ni1hYmNkZWYwMTIzNDUSBXNtb2tl';

describe('worker logger', () => {
  it('drops the taskToken attribute the SDK puts on activity log lines', () => {
    const lines: LogEntry[] = [];
    const logger = new WorkerLogger('DEBUG', (entry) => lines.push(entry));
    // The attributes of the SDK's own "Activity failed" line (activityLogAttributes).
    logger.warn('Activity failed', {
      isLocal: false,
      attempt: 1,
      namespace: 'default',
      taskToken: TOKEN,
      activityId: '1',
      activityType: 'kafkaRoundTrip',
    });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.meta?.['activityType'], 'kafkaRoundTrip');
    assert.equal(lines[0]?.meta?.['taskToken'], undefined);
    assert.ok(!util.inspect(lines, { depth: 5 }).includes(TOKEN));
  });

  it('removes tokens written into message texts, in the forms core and the SDK use', () => {
    for (const text of [
      `Activity task not found task_token: TaskToken(${TOKEN}) more`,
      `failed to complete {"taskToken":"${TOKEN}","x":1}`,
      `heartbeat task_token=${TOKEN}, details`,
      `task_token: [10, 36, 52]`,
    ]) {
      const [clean] = withoutTaskTokens(text, undefined);
      assert.ok(!clean.includes(TOKEN) && !clean.includes('10, 36'), clean);
      assert.ok(clean.includes('[redacted]'), clean);
    }
  });

  it('keeps lines without tokens as they are', () => {
    const [text, meta] = withoutTaskTokens('Worker state changed', { state: 'RUNNING' });
    assert.equal(text, 'Worker state changed');
    assert.deepEqual(meta, { state: 'RUNNING' });
  });
});
