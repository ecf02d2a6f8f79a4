import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { LogEntry } from '@temporalio/worker';
import { logLevel, Partitioners, type Kafka } from 'kafkajs';
import { statePaths } from '../../../infra/paths';
import { ensureInfra, stopInfra } from '../../../infra/stack';
import { TEMPORAL_CLI_PATH } from '../../../infra/temporal';
import type { InfraConfig, KafkaConfig } from '../../../schemas/infra-config';
import { Secret } from '../../../schemas/secret';
import { parseInfraConfig } from '../../../src/config/env';
import { secureClientEnv, secureMaterial } from '../../../src/config/secure-material';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';
import { createKafka } from '../../../src/stream/kafka-client';
import { smokeTest } from '../../../workflows';
import { createWorker, installQuietRuntime } from '../../../worker/create-worker';

const REPO = path.resolve(__dirname, '..', '..', '..');

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

/** A client with the product's defaults (retries: a new broker creates its offsets topic first). */
function kafkaClient(kafka: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>): Kafka {
  return createKafka(kafka, { clientId: 'agp-secure-test', level: logLevel.NOTHING });
}

/** A client that fails fast: these tests expect refusals, not retries. */
function fastKafka(kafka: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>): Kafka {
  return createKafka(kafka, {
    clientId: 'agp-secure-test',
    level: logLevel.NOTHING,
    overrides: { connectionTimeout: 5000, requestTimeout: 5000, retry: { retries: 0 } },
  });
}

async function roundTrip(kafka: Kafka, messages: number): Promise<string[]> {
  const topic = `agp-secure-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    // A broker that has just started may still be electing the new topic's leader: retry more.
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 10 },
    });
    await producer.connect();
    const sent = Array.from({ length: messages }, (_, i) => `m${i}`);
    await producer.send({ topic, messages: sent.map((value) => ({ value })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    const received: string[] = [];
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('consume timed out')), 30_000);
        void consumer
          .run({
            eachMessage: ({ message }) => {
              received.push(message.value?.toString() ?? '');
              if (received.length === messages) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return received;
  } finally {
    await admin.disconnect();
  }
}

/** Every file under `dir`, as text. */
function allText(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile())
    .map((f) => fs.readFileSync(f, 'utf8'))
    .join('\n');
}

/**
 * TCP ports in LISTEN state, in this network namespace, of the stack's processes (the Temporal
 * terminator, the Kafka broker and their descendants): what a local process could connect to.
 */
function stackListeningPorts(dataDir: string): number[] {
  const pids = new Set<number>();
  for (const name of ['temporal.pid', 'kafka.pid']) {
    const pid = Number(fs.readFileSync(path.join(statePaths(dataDir).pids, name), 'utf8').trim());
    if (Number.isInteger(pid)) pids.add(pid);
  }
  // Descendants, by parent pid (a few passes reach any depth the stack has).
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  for (let pass = 0; pass < 6; pass++) {
    for (const [pid, parent] of parents) if (pids.has(parent)) pids.add(pid);
  }
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode) inodes.add(inode);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is hex ip:port; st 0A is LISTEN; the inode is column 9.
      if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) {
        ports.add(parseInt(cols[1]?.split(':')[1] ?? '', 16));
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** The Temporal CLI the stack installs, with no TEMPORAL_* variables or config of the user. */
function temporalCli(args: string[]) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')),
  );
  return spawnSync(TEMPORAL_CLI_PATH, [...args, '--command-timeout', '8s'], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...env, HOME: os.tmpdir(), TEMPORAL_CONFIG_FILE: '/dev/null' },
  });
}

/** True when something accepts a TCP connection on the port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(3000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** True when an HTTP GET of `path` on the port gets a 2xx answer. */
async function httpAnswers(port: number, urlPath: string): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${urlPath}`, {
      signal: AbortSignal.timeout(5000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

describe('secure mode (infra:up -- --secure): SASL_SSL Kafka and mTLS Temporal, real servers', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-secure-test-'));
  let config: InfraConfig;
  const workerLog: LogEntry[] = [];

  before(async () => {
    const [temporal, backend, ui, kafka, controller] = await Promise.all(
      Array.from({ length: 5 }, freePort),
    );
    config = parseInfraConfig(
      {
        AGP_SECURE: 'true',
        AGP_DATA_DIR: base,
        AGP_TEMPORAL_PORT: String(temporal),
        AGP_TEMPORAL_BACKEND_PORT: String(backend),
        AGP_TEMPORAL_UI_PORT: String(ui),
        AGP_KAFKA_PORT: String(kafka),
        AGP_KAFKA_CONTROLLER_PORT: String(controller),
      },
      REPO,
    );
    assert.equal(config.dataDir, path.join(base, 'secure'));
    await ensureInfra(config);
  });

  after(async () => {
    if (config) await stopInfra(config);
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('generates the CA, certificates and passwords with private files 0600', () => {
    const m = secureMaterial(config.dataDir);
    for (const f of [m.caKey, m.serverKey, m.serverKeystore, m.clientKey, m.kafkaClientPassword])
      assert.equal(fs.statSync(f).mode & 0o777, 0o600, f);
    assert.equal(fs.statSync(m.dir).mode & 0o777, 0o700);
    assert.equal(
      fs.statSync(path.join(config.dataDir, 'kafka', 'server.properties')).mode & 0o777,
      0o600,
    );
  });

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512 and with PLAIN', async () => {
    // SCRAM through the variables a user would set for a remote cluster (KAFKA_SSL_CA, …).
    const scram = parseInfraConfig(secureClientEnv(config), REPO).kafka;
    assert.equal(scram.sasl?.mechanism, 'scram-sha-512');
    assert.deepEqual(
      (await roundTrip(kafkaClient(scram), 20)).sort(),
      Array.from({ length: 20 }, (_, i) => `m${i}`).sort(),
    );
    const plain = { ...scram, sasl: { ...scram.sasl!, mechanism: 'plain' as const } };
    assert.equal((await roundTrip(kafkaClient(plain), 5)).length, 5);
  });

  it('refuses a wrong password with a clear authentication error, for both mechanisms', async () => {
    const wrong = 'wrong-password-3b9a';
    for (const mechanism of ['scram-sha-512', 'plain'] as const) {
      const admin = fastKafka({
        ...config.kafka,
        sasl: { mechanism, username: 'agp', password: Secret.of(wrong) },
      }).admin();
      await assert.rejects(admin.connect(), (error: Error) => {
        assert.equal(error.name, 'KafkaJSSASLAuthenticationError');
        assert.match(error.message, /authentication failed/i);
        assert.ok(!error.message.includes(wrong));
        return true;
      });
    }
  });

  it('refuses a plaintext Kafka client and a TLS client without SASL', async () => {
    for (const kafka of [
      { brokers: config.kafka.brokers },
      { brokers: config.kafka.brokers, ssl: config.kafka.ssl },
    ]) {
      const admin = fastKafka(kafka).admin();
      await assert.rejects(
        async () => {
          await admin.connect();
          try {
            await admin.listTopics();
          } finally {
            await admin.disconnect();
          }
        },
        `ssl=${kafka.ssl !== undefined}`,
      );
    }
  });

  it('keeps the KRaft controller port behind TLS, closed to the client user', async () => {
    const m = secureMaterial(config.dataDir);
    // A TLS handshake succeeds only if the controller listener is not plaintext.
    await new Promise<void>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: config.kafka.controllerPort,
        ca: fs.readFileSync(m.caCert),
        servername: 'localhost',
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    const admin = fastKafka({
      ...config.kafka,
      brokers: [`127.0.0.1:${config.kafka.controllerPort}`],
      sasl: { ...config.kafka.sasl!, mechanism: 'plain' },
    }).admin();
    await assert.rejects(admin.connect(), { name: 'KafkaJSSASLAuthenticationError' });
  });

  it('runs the smoke workflow on a worker over mTLS, with no task token in the worker log', async () => {
    installQuietRuntime('DEBUG', (entry) => workerLog.push(entry));
    const taskQueue = `secure-smoke-${randomUUID()}`;
    const { worker, close } = await createWorker(config, { taskQueue });
    const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const result = await worker.runUntil(
        client.workflow.execute(smokeTest, {
          taskQueue,
          workflowId: taskQueue,
          args: [{ messages: 20 }],
        }),
      );
      assert.equal(result.produced, 20);
      assert.equal(result.committed, 20);
    } finally {
      await connection.close();
      await close();
    }
    // The SDK logged the activity (so the check below looks at real activity lines)…
    const activityLines = workerLog.filter((e) => e.meta?.['activityType'] === 'kafkaRoundTrip');
    assert.ok(activityLines.length > 0, 'activity log lines were captured');
    // …and none of them carries its task token.
    for (const e of workerLog) {
      assert.equal(e.meta?.['taskToken'], undefined, e.message);
      assert.doesNotMatch(e.message, /task_?token\s*[:=]\s*(?!\[redacted\])/i);
    }
  });

  it('refuses plaintext Temporal clients and TLS clients without a client certificate', async () => {
    const { address } = config.temporal;
    const { tls } = temporalConnectionOptions(config.temporal);
    await assert.rejects(Connection.connect({ address, connectTimeout: '3s' }));
    await assert.rejects(
      Connection.connect({
        address,
        connectTimeout: '3s',
        tls: {
          serverNameOverride: tls!.serverNameOverride!,
          serverRootCACertificate: tls!.serverRootCACertificate!,
        },
      }),
    );
  });

  it('lets no client without the certificate list or start workflows on any port the stack opens; no UI', async () => {
    const ports = stackListeningPorts(config.dataDir);
    process.stdout.write(`# secure stack listens on ${ports.join(', ')}\n`);
    // The client port is the only Temporal port outside the dev server's private namespace.
    assert.ok(ports.includes(config.temporal.port), `stack ports ${ports.join(', ')}`);
    assert.ok(ports.includes(config.kafka.port), 'the stack listing is complete');
    for (const hidden of [config.temporal.backendPort, config.temporal.uiPort]) {
      assert.ok(hidden !== undefined && !ports.includes(hidden), `${hidden} is not open`);
      assert.equal(await answers(hidden), false, `nothing answers on ${hidden}`);
    }
    assert.equal(config.temporal.uiUrl, undefined, 'no UI link in secure mode');

    const m = secureMaterial(config.dataDir);
    const withCert = [
      '--tls-ca-path',
      m.caCert,
      '--tls-cert-path',
      m.clientCert,
      '--tls-key-path',
      m.clientKey,
      '--tls-server-name',
      'localhost',
    ];
    // The control: the same command with the client certificate works on the client port.
    const listed = temporalCli([
      'workflow',
      'list',
      '--address',
      config.temporal.address,
      ...withCert,
    ]);
    assert.equal(listed.status, 0, listed.stderr);
    for (const port of ports) {
      const address = `127.0.0.1:${port}`;
      const list = temporalCli(['workflow', 'list', '--address', address]);
      assert.notEqual(
        list.status,
        0,
        `workflow list without a certificate on ${address}: ${list.stdout}`,
      );
      // With the CA but no client certificate (what a TLS-aware intruder would try).
      const tlsOnly = temporalCli([
        'workflow',
        'list',
        '--address',
        address,
        '--tls-ca-path',
        m.caCert,
        '--tls-server-name',
        'localhost',
      ]);
      assert.notEqual(tlsOnly.status, 0, `workflow list with TLS, no certificate, on ${address}`);
      const start = temporalCli([
        'workflow',
        'start',
        '--address',
        address,
        '--type',
        'smokeTest',
        '--task-queue',
        'intruder',
        '--workflow-id',
        `intruder-${port}`,
      ]);
      assert.notEqual(start.status, 0, `workflow start without a certificate on ${address}`);
      // The HTTP API path the dev server's UI and HTTP port serve.
      assert.equal(
        await httpAnswers(port, '/api/v1/namespaces/default/workflows'),
        false,
        `an HTTP API answered on ${address}`,
      );
    }
    // Nothing was started by any of those attempts.
    const after = temporalCli([
      'workflow',
      'list',
      '--address',
      config.temporal.address,
      '--query',
      'TaskQueue="intruder"',
      ...withCert,
    ]);
    assert.equal(after.status, 0, after.stderr);
    assert.doesNotMatch(after.stdout, /intruder/);
  });

  it('writes no credential into any log of the stack or the worker', () => {
    const m = secureMaterial(config.dataDir);
    const secrets = [
      fs.readFileSync(m.kafkaClientPassword, 'utf8'),
      fs.readFileSync(m.kafkaBrokerPassword, 'utf8'),
      // The base64 body of every private key (its second line is enough to find it).
      ...[m.caKey, m.serverKey, m.clientKey].map(
        (f) => fs.readFileSync(f, 'utf8').split('\n')[1] ?? '',
      ),
    ];
    const logs = allText(path.join(config.dataDir, 'logs')) + util.inspect(workerLog, { depth: 6 });
    assert.ok(logs.includes('tls-proxy: refused'), 'the stack logs were read');
    for (const secret of secrets) {
      assert.ok(secret.length >= 20);
      assert.ok(!logs.includes(secret), 'a credential appears in a log');
    }
  });
});
