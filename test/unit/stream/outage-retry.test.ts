import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { InfraError } from '../../../src/errors';
import { retryThroughOutage } from '../../../src/outage-retry';
import { isKafkaOutage } from '../../../src/stream/kafka-outage';
import { isTemporalOutage } from '../../../worker/temporal-outage';

class Outage extends Error {}
const isOutage = (e: unknown): boolean => e instanceof Outage;

/** Fails with an outage `failures` times, then returns 'ok'. */
function flaky(failures: number) {
  const f = {
    calls: 0,
    work: async (): Promise<string> => {
      f.calls++;
      if (f.calls <= failures) throw new Outage(`refused #${f.calls}`);
      return 'ok';
    },
  };
  return f;
}

describe('retryThroughOutage', () => {
  it('waits out an outage with one line when it starts and one when it ends', async () => {
    const f = flaky(5);
    const lines: string[] = [];
    const result = await retryThroughOutage(f.work, {
      what: 'Kafka at b:1',
      isOutage,
      initialDelayMs: 1,
      maxDelayMs: 4,
      log: (l) => lines.push(l),
    });
    assert.equal(result, 'ok');
    assert.equal(f.calls, 6);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      /^waiting for Kafka at b:1 \(refused #1\); retrying with backoff for up to 300 s$/,
    );
    assert.match(lines[1] ?? '', /^Kafka at b:1 is back after \d+\.\d s$/);
  });

  it('gives up after the limit with an error naming the server', async () => {
    const f = flaky(Infinity);
    const lines: string[] = [];
    const started = Date.now();
    await assert.rejects(
      retryThroughOutage(f.work, {
        what: 'Temporal at t:1',
        isOutage,
        limitMs: 200,
        initialDelayMs: 10,
        maxDelayMs: 40,
        log: (l) => lines.push(l),
      }),
      (e: unknown) =>
        e instanceof InfraError &&
        /^Temporal at t:1 has been unavailable for 0 s \(limit 0 s\); giving up\. Last error: refused #\d+$/.test(
          e.message,
        ) &&
        e.cause instanceof Outage,
    );
    const waited = Date.now() - started;
    assert.ok(waited >= 200 && waited < 2000, `gave up after ${waited} ms`);
    assert.ok(f.calls >= 3, `backed off and retried (${f.calls} calls)`);
    assert.equal(lines.length, 1);
  });

  it('rethrows an error that is not an outage at once', async () => {
    let calls = 0;
    const bad = new Error('message too large');
    await assert.rejects(
      retryThroughOutage(
        async () => {
          calls++;
          throw bad;
        },
        { what: 'Kafka', isOutage, log: () => assert.fail('no wait line') },
      ),
      (e) => e === bad,
    );
    assert.equal(calls, 1);
  });

  it('stops waiting when aborted', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const started = Date.now();
    await assert.rejects(
      retryThroughOutage(flaky(Infinity).work, {
        what: 'Kafka',
        isOutage,
        initialDelayMs: 10_000,
        signal: abort.signal,
        log: () => undefined,
      }),
      Outage,
    );
    assert.ok(Date.now() - started < 5000);
  });
});

describe('outage predicates', () => {
  it("Kafka: a refused connection, also inside kafkajs' retries-exceeded error; not a bad request", () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    assert.ok(isKafkaOutage(refused));
    assert.ok(
      isKafkaOutage(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1 })),
    );
    const tooLarge = new KafkaJSProtocolError(
      Object.assign(new Error('too large'), {
        type: 'MESSAGE_TOO_LARGE',
        code: 10,
        retriable: false,
      }),
    );
    assert.equal(isKafkaOutage(tooLarge), false);
    assert.equal(isKafkaOutage(new Error('bug')), false);
  });

  it('Temporal: a ServiceError caused by gRPC UNAVAILABLE, not NOT_FOUND', () => {
    const grpc = (code: number) =>
      Object.assign(new Error(`${code} grpc`), { code, details: '', metadata: {} });
    const service = (cause: Error) => Object.assign(new Error('ServiceError'), { cause });
    assert.ok(isTemporalOutage(service(grpc(14))));
    assert.equal(isTemporalOutage(service(grpc(5))), false);
    assert.equal(isTemporalOutage(new Error('bug')), false);
  });
});
