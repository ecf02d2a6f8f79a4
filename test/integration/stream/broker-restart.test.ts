import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logLevel, type Kafka, type Producer } from 'kafkajs';
import { statePaths } from '../../../infra/paths';
import { readPid } from '../../../infra/process';
import { ensureInfra, stopInfra } from '../../../infra/stack';
import type { InfraConfig } from '../../../schemas/infra-config';
import { parseInfraConfig } from '../../../src/config/env';
import type { ColumnarBatch } from '../../../src/data/batch';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { encodeEvent } from '../../../src/stream/event-codec';
import { createKafka } from '../../../src/stream/kafka-client';
import { runWindow } from '../../../src/stream/recurring-trainer';
import { countingMetrics, rows, spec } from './kafka-helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const PER_VERSION = 300;

/**
 * Issue 26 item 3: a window keeps running while its Kafka broker is SIGKILLed and restarted;
 * its next full version comes within 30 s of the broker being back (it was 60–86 s in the fault
 * suite: kafkajs' 30 s session timeout, which the new member waits out for the old one after a
 * restart, and up to 9 s of restart backoff). The broker is a private one (own ports and data),
 * started and killed through infra/; the model is a stand-in that trains an event per ms.
 */
describe('a window through a broker restart (private broker)', { timeout: 400_000 }, () => {
  let dataDir: string;
  let config: InfraConfig;
  let kafka: Kafka;
  let producer: Producer;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'agp-broker-restart-'));
    config = parseInfraConfig({
      // Temporal is not part of this test: an external address keeps infra/ from starting one.
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      AGP_KAFKA_PORT: String(await freePort()),
      AGP_KAFKA_CONTROLLER_PORT: String(await freePort()),
      AGP_DATA_DIR: dataDir,
    });
    await ensureInfra(config);
    kafka = createKafka(config.kafka, {
      clientId: 'agp-test-broker-restart',
      level: logLevel.NOTHING,
    });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect().catch(() => undefined);
    if (config) await stopInfra(config, ['kafka']);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reaches its next full version within 30 s of the broker being back', async () => {
    const topic = 'restart';
    await createTopicsReady(kafka, [{ topic, numPartitions: 3 }, { topic: `${topic}.dlq` }]);
    const values = rows(50_000).map((r, i) =>
      encodeEvent({ v: 1, eventId: `e-${i}`, eventTime: 1000 + i, ...r }),
    );
    let next = 0;
    let feeding = true;
    // 100 events/s, through the outage: a failed send is retried once the broker is back.
    const feeder = (async () => {
      while (feeding) {
        await producer
          .send({ topic, messages: values.slice(next, next + 10).map((value) => ({ value })) })
          .then(() => (next += 10))
          .catch(() => undefined);
        await sleep(100);
      }
    })();
    const versions: { at: number; events: number }[] = [];
    const stop = new AbortController();
    const window = runWindow(
      {
        kafka,
        trainer: {
          step: async (b: ColumnarBatch) => {
            await sleep(b.size);
            return { loss: 0.6, predictions: new Float32Array(b.size).fill(0.3) };
          },
        },
        spec,
        metrics: countingMetrics(),
        publishVersion: async (r) => {
          versions.push({ at: Date.now(), events: r.trainedEvents + r.deadLettered });
        },
      },
      {
        topic,
        groupId: 'restart',
        publishEveryEvents: PER_VERSION,
        publishEverySeconds: 60,
        versions: 1000,
        signal: stop.signal,
      },
    );
    const failed = window.then(
      () => null,
      (error: unknown) => error,
    );
    try {
      while (versions.length < 2) {
        assert.equal(await Promise.race([failed, sleep(100).then(() => null)]), null);
      }
      const pid = readPid(path.join(statePaths(dataDir).pids, 'kafka.pid'));
      assert.ok(pid !== undefined);
      process.kill(pid, 'SIGKILL');
      const downAt = Date.now();
      // Until the kernel has reaped it, the port is still bound and a restart would fail.
      const alive = (): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      while (alive()) await sleep(100);
      await sleep(8_000);
      await ensureInfra(config);
      const backAt = Date.now();
      const before = versions.length;
      const deadline = backAt + 120_000;
      while (!versions.slice(before).some((v) => v.events >= PER_VERSION)) {
        assert.ok(Date.now() < deadline, 'no full version within 120 s of the restart');
        await sleep(100);
      }
      const full = versions.slice(before).find((v) => v.events >= PER_VERSION);
      const recovery = ((full?.at ?? 0) - backAt) / 1000;
      process.stdout.write(
        `# broker down ${((backAt - downAt) / 1000).toFixed(1)} s; next full version ` +
          `${recovery.toFixed(1)} s after it was back; versions meanwhile: ` +
          `${versions
            .slice(before)
            .map((v) => v.events)
            .join(', ')}\n`,
      );
      assert.ok(recovery <= 30, `next full version ${recovery.toFixed(1)} s after the restart`);
    } finally {
      stop.abort();
      feeding = false;
      await feeder;
      await window.catch(() => undefined);
    }
  });
});
