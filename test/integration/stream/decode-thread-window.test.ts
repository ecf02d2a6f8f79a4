import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { replay } from '../../../src/stream/replay';
import { createTopics, deleteTopics, kafka, producer, rows, uniqueTopic } from './kafka-helpers';

/**
 * A window's decode thread ends with the window, however it ends: by its versions, by a failed
 * publish or by an abort. The windows run in a child process that must then exit by itself.
 */

const k = kafka();
const topics: string[] = [];
after(async () => {
  if (topics.length) await deleteTopics(k, ...topics);
});

/** Runs the child; resolves with its output, or rejects when it does not exit in time. */
function runChild(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, 'fixtures', 'decode-thread-window-child.ts'), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the child did not exit within ${timeoutMs} ms (a thread left running?)\n${out}\n${err}`,
        ),
      );
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('decode thread of a window', () => {
  it('ends with the window whether it ends by versions, a failed publish or an abort', async () => {
    const topic = uniqueTopic('decode-thread');
    topics.push(topic, `${topic}.dlq`);
    await createTopics(k, topic, `${topic}.dlq`);
    const p = await producer(k);
    try {
      await replay(rows(600), { producer: p, topic, sendBatchSize: 200 });
    } finally {
      await p.disconnect();
    }
    const { code, out, err } = await runChild([topic, '600'], 120_000);
    assert.equal(code, 0, err);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { window: 'versions', stoppedBy: 'versions', trained: 600 });
    assert.deepEqual(lines[1], { window: 'failed', error: 'registry unreachable' });
    assert.equal(lines[2]?.['stoppedBy'], 'abort');
    assert.ok((lines[2]?.['trained'] as number) >= 128, JSON.stringify(lines[2]));
  });
});
