// The replay producer rides out a broker restart (issue 12 item 4): on a PRIVATE broker (its own
// ports and data directory; the shared one is never touched) that is stopped mid-replay and
// started again, every event arrives exactly once, in order within its partition, and the
// producer says once what it waits for and once when the broker is back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import { parseInfraConfig } from '../../../src/config/env';
import {
  checkKafka,
  installKafka,
  kafkaLog,
  kafkaProperties,
  startKafka,
} from '../../../infra/kafka';
import { statePaths } from '../../../infra/paths';
import { isOurProcess, sleep, stopProcess, waitUntilHealthy } from '../../../infra/process';
import { createKafka } from '../../../src/stream/kafka-client';
import { createReplayProducer, replay } from '../../../src/stream/replay';
import { createTopics, readAll, rows, uniqueTopic } from './kafka-helpers';

const EVENTS = 3000;
const RATE = 250;
const DOWN_MS = 15_000;

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

describe('replay through a broker restart (private broker)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-replay-outage-'));
  const paths = statePaths(dataDir);
  const marker = kafkaProperties(paths);
  let config: ReturnType<typeof parseInfraConfig>['kafka'];
  let pid: number | undefined;
  let k: Kafka;

  const start = async (): Promise<void> => {
    const started = await startKafka(config, paths);
    pid = started;
    await waitUntilHealthy('private kafka', () => checkKafka(config), {
      deadlineMs: 120_000,
      alive: () => isOurProcess(started, marker),
      logFile: kafkaLog(paths),
    });
  };

  before(async () => {
    const [port, controllerPort] = [await freePort(), await freePort()];
    config = parseInfraConfig({
      AGP_DATA_DIR: dataDir,
      AGP_KAFKA_PORT: String(port),
      AGP_KAFKA_CONTROLLER_PORT: String(controllerPort),
    }).kafka;
    await installKafka(() => undefined);
    await start();
    k = createKafka(config, { clientId: 'agp-replay-outage-test' });
  });

  after(async () => {
    if (pid !== undefined) await stopProcess(pid, marker);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('every event arrives exactly once, in order per partition', async () => {
    const topic = uniqueTopic('replay-outage');
    await createTopics(k, topic);
    const producer = createReplayProducer(k);
    await producer.connect();
    const lines: string[] = [];
    let sent = 0;
    const replayed = replay(rows(EVENTS), {
      producer,
      topic,
      rate: RATE,
      log: (line) => lines.push(line),
      onProgress: (n) => (sent = n),
    });
    let result;
    try {
      while (sent < EVENTS / 5) await sleep(100);
      // Stop the broker (SIGTERM: a clean shutdown, as a rolling restart does), keep it down
      // longer than kafkajs' own retries last (~10 s at the defaults) while the replay keeps
      // producing, then start it on the same data.
      await stopProcess(pid as number, marker);
      pid = undefined;
      const sentWhenStopped = sent;
      await sleep(DOWN_MS);
      await start();
      result = await replayed;
      assert.ok(sentWhenStopped < EVENTS, 'the broker stopped mid-replay');
    } finally {
      await producer.disconnect();
    }
    assert.equal(result.events, EVENTS);
    const waits = lines.filter((l) => l.startsWith('waiting for Kafka'));
    assert.ok(waits.length >= 1, `a line says what the replay waits for: ${lines.join(' | ')}`);
    assert.ok(waits.length <= 3, `one line per wait, not a flood: ${lines.join(' | ')}`);
    assert.ok(lines.some((l) => / is back after /.test(l)));

    const messages = await readAll(k, topic, EVENTS, 60_000);
    // readAll stops at EVENTS: a duplicate would show as a missing id; wait a moment for extras.
    const ids = messages.map((m) => String(m.key));
    assert.equal(new Set(ids).size, EVENTS, 'every event exactly once');
    const index = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));
    for (const partition of new Set(messages.map((m) => m.partition))) {
      const order = messages
        .filter((m) => m.partition === partition)
        .map((m) => index(String(m.key)));
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `partition ${partition} holds its events in replay order`,
      );
    }
    const admin = k.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    assert.equal(total, EVENTS, 'the topic holds no duplicate');
  });
});
