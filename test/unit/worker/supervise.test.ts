import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgpWorker } from '../../../worker/create-worker';
import { runSupervised } from '../../../worker/supervise';

/** A stand-in for a worker whose run() ends as told; records whether it was closed. */
function fakeWorker(outcome: 'ok' | Error, closed: string[], name: string): AgpWorker {
  return {
    worker: {
      run: () => (outcome === 'ok' ? Promise.resolve() : Promise.reject(outcome)),
    } as unknown as AgpWorker['worker'],
    backend: 'cpu',
    close: () => {
      closed.push(name);
      return Promise.resolve();
    },
  };
}

describe('runSupervised', () => {
  it('re-creates a worker whose run() failed, closing the failed one, and stops on a clean end', async () => {
    const closed: string[] = [];
    const outcomes: Array<'ok' | Error> = [new Error('poll failed: namespace not found'), 'ok'];
    const logs: string[] = [];
    const sleeps: number[] = [];
    let made = 0;
    await runSupervised(
      () => {
        const name = `w${made}`;
        return Promise.resolve(fakeWorker(outcomes[made++] ?? 'ok', closed, name));
      },
      (line) => logs.push(line),
      (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    );
    assert.equal(made, 2);
    assert.deepEqual(closed, ['w0', 'w1']);
    assert.deepEqual(sleeps, [2000]);
    assert.match(logs[0] ?? '', /namespace not found.*re-creating it in 2 s/);
    assert.match(logs[1] ?? '', /re-created/);
  });

  it('keeps trying, with a doubling backoff, while creating a new worker fails', async () => {
    const closed: string[] = [];
    const sleeps: number[] = [];
    let made = 0;
    await runSupervised(
      () => {
        made++;
        if (made === 1) return Promise.resolve(fakeWorker(new Error('fatal'), closed, 'first'));
        if (made < 4) return Promise.reject(new Error('connection refused'));
        return Promise.resolve(fakeWorker('ok', closed, 'last'));
      },
      () => undefined,
      (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    );
    assert.equal(made, 4);
    assert.deepEqual(sleeps, [2000, 4000, 8000]);
    assert.deepEqual(closed, ['first', 'last']);
  });

  it('lets an error creating the first worker reach the caller', async () => {
    await assert.rejects(
      runSupervised(
        () => Promise.reject(new Error('bad address')),
        () => undefined,
      ),
      /bad address/,
    );
  });
});
