import crypto from 'node:crypto';
import { logLevel } from 'kafkajs';
import fs from 'node:fs';
import path from 'node:path';
import type { KafkaConfig } from '../schemas/infra-config';
import { SECURE_KAFKA_USER, type SecureMaterial } from '../src/config/secure-material';
import { InfraError } from '../src/errors';
import { createKafka } from '../src/stream/kafka-client';
import { CACHE_DIR, REPO_ROOT, type StatePaths } from './paths';
import { onPath, runCommand, spawnServer } from './process';
import { writePrivate } from './tls';
import { KAFKA_VERSION } from './versions';

/** Where Maven copies the broker's jars (the cache is keyed by version). */
export const KAFKA_LIBS = path.join(CACHE_DIR, 'kafka', KAFKA_VERSION, 'libs');
const COMPLETE = path.join(KAFKA_LIBS, '.complete');

/** Fails with the fix when Java is missing. */
export function requireJava(): void {
  if (!onPath('java')) {
    throw new InfraError(
      'Java not found on PATH: Kafka needs Java 17+ (e.g. `apt-get install -y openjdk-17-jre-headless`), or set KAFKA_BROKERS to use an existing Kafka',
      { retriable: false },
    );
  }
}

/**
 * Resolves the Kafka jars from Maven Central into .cache/ unless already there, using
 * infra/kafka/pom.xml. A marker file makes an interrupted copy start over instead of running
 * a broker with half its classpath.
 */
export async function installKafka(log: (line: string) => void): Promise<string> {
  if (fs.existsSync(COMPLETE)) return KAFKA_LIBS;
  requireJava();
  if (!onPath('mvn')) {
    throw new InfraError(
      'Maven (mvn) not found on PATH: it fetches the Kafka jars (e.g. `apt-get install -y maven`), or set KAFKA_BROKERS to use an existing Kafka',
      { retriable: false },
    );
  }
  log(`installing Apache Kafka ${KAFKA_VERSION}: mvn dependency:copy-dependencies`);
  fs.rmSync(KAFKA_LIBS, { recursive: true, force: true });
  await runCommand('mvn', [
    '-B',
    '-q',
    '-f',
    path.join(REPO_ROOT, 'infra', 'kafka', 'pom.xml'),
    'dependency:copy-dependencies',
    `-Dkafka.version=${KAFKA_VERSION}`,
    `-Dkafka.libs.dir=${KAFKA_LIBS}`,
  ]);
  fs.writeFileSync(COMPLETE, `${new Date().toISOString()}\n`);
  return KAFKA_LIBS;
}

/** The broker's configuration file; its path also marks the broker's command line as ours. */
export function kafkaProperties(paths: StatePaths): string {
  return path.join(paths.kafkaDir, 'server.properties');
}

export function kafkaLog(paths: StatePaths): string {
  return path.join(paths.logs, 'kafka.log');
}

/** The broker's own user on its SASL_SSL listener (inter-broker traffic), PLAIN. */
const BROKER_USER = 'agp-broker';

/** A JAAS option value, quoted as Kafka's JAAS parser reads it. */
function jaasQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Secure mode's listener settings: one SASL_SSL listener (PLAIN and SCRAM-SHA-512) for clients
 * and for the broker itself, TLS from the generated PEM keystore. PLAIN users live in the
 * listener's JAAS line (so this file is written 0600); SCRAM credentials are stored in the
 * cluster metadata when the storage is formatted. The KRaft controller listener is SASL_SSL
 * too, for the broker's own user only.
 */
function secureListener(config: KafkaConfig, m: SecureMaterial): Record<string, string> {
  const client = fs.readFileSync(m.kafkaClientPassword, 'utf8');
  const broker = fs.readFileSync(m.kafkaBrokerPassword, 'utf8');
  return {
    listeners: `SASL_SSL://127.0.0.1:${config.port},CONTROLLER://127.0.0.1:${config.controllerPort}`,
    'advertised.listeners': `SASL_SSL://127.0.0.1:${config.port}`,
    'inter.broker.listener.name': 'SASL_SSL',
    'listener.security.protocol.map': 'CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    // The KRaft controller listener admits the broker's own user only (the client user cannot
    // reach the quorum, e.g. with `--bootstrap-controller`).
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': [
      'org.apache.kafka.common.security.plain.PlainLoginModule required',
      `username=${jaasQuote(BROKER_USER)}`,
      `password=${jaasQuote(broker)}`,
      `user_${BROKER_USER}=${jaasQuote(broker)};`,
    ].join(' '),
    'listener.name.sasl_ssl.plain.sasl.jaas.config': [
      'org.apache.kafka.common.security.plain.PlainLoginModule required',
      `username=${jaasQuote(BROKER_USER)}`,
      `password=${jaasQuote(broker)}`,
      `user_${BROKER_USER}=${jaasQuote(broker)}`,
      `user_${SECURE_KAFKA_USER}=${jaasQuote(client)};`,
    ].join(' '),
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': m.serverKeystore,
    // The broker is its own client on this listener, so it trusts the CA too.
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': m.caCert,
  };
}

function writeConfig(config: KafkaConfig, paths: StatePaths, secure?: SecureMaterial): void {
  fs.mkdirSync(paths.kafkaLogDirs, { recursive: true });
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${config.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${config.port},CONTROLLER://127.0.0.1:${config.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${config.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    ...(secure ? secureListener(config, secure) : {}),
    'log.dirs': paths.kafkaLogDirs,
    'num.partitions': '3',
    'auto.create.topics.enable': 'true',
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
  };
  const text = Object.entries(properties)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  // Secure mode's file holds the PLAIN users' passwords.
  writePrivate(kafkaProperties(paths), `# written by infra/kafka.ts\n${text}\n`);
  // Kafka's own INFO chatter goes nowhere; its version line, warnings and errors reach the log.
  fs.writeFileSync(
    path.join(paths.kafkaDir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.out.type = Console',
      'appender.out.name = STDOUT',
      'appender.out.layout.type = PatternLayout',
      'appender.out.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = warn',
      'rootLogger.appenderRef.out.ref = STDOUT',
      'logger.started.name = kafka.server.KafkaRaftServer',
      'logger.started.level = info',
      'logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser',
      'logger.appinfo.level = info',
      '',
    ].join('\n'),
  );
}

/** JVM options and classpath of every Kafka process of this data directory. */
function jvmOptions(paths: StatePaths): string[] {
  return [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(paths.kafkaDir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${paths.logs}`,
    '-cp',
    path.join(KAFKA_LIBS, '*'),
  ];
}

function javaArgs(paths: StatePaths, mainClass: string, ...args: string[]): string[] {
  return [...jvmOptions(paths), mainClass, ...args];
}

/**
 * Runs a Kafka tool with its main class and arguments in a java argument file (0600, removed
 * after): arguments that carry a password (`--add-scram`) then never appear on a command line,
 * where `ps` would show them, nor in the error message of a failed run.
 */
async function runJavaTool(paths: StatePaths, mainClass: string, args: string[]): Promise<void> {
  const argFile = path.join(paths.kafkaDir, `.args-${process.pid}`);
  const quote = (a: string) => `"${a.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  writePrivate(argFile, [mainClass, ...args].map(quote).join('\n'));
  try {
    await runCommand('java', [...jvmOptions(paths), `@${argFile}`]);
  } finally {
    fs.rmSync(argFile, { force: true });
  }
}

/**
 * Writes the configuration, formats the storage the first time, starts the broker; returns its
 * pid. With `secure`, the broker listens with SASL_SSL only and the client user's SCRAM-SHA-512
 * credential is created by the format.
 */
export async function startKafka(
  config: KafkaConfig,
  paths: StatePaths,
  secure?: SecureMaterial,
): Promise<number> {
  requireJava();
  writeConfig(config, paths, secure);
  if (!fs.existsSync(path.join(paths.kafkaLogDirs, 'meta.properties'))) {
    // A KRaft cluster id is 16 random bytes in URL-safe base64 without padding. One that starts
    // with '-' reads as an option to the storage tool's parser, so draw again (as Kafka's own
    // Uuid.randomUuid does).
    let clusterId = crypto.randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = crypto.randomBytes(16).toString('base64url');
    const scram = secure
      ? [
          '--add-scram',
          `SCRAM-SHA-512=[name=${SECURE_KAFKA_USER},password=${fs.readFileSync(secure.kafkaClientPassword, 'utf8')}]`,
        ]
      : [];
    await runJavaTool(paths, 'kafka.tools.StorageTool', [
      'format',
      '-t',
      clusterId,
      '-c',
      kafkaProperties(paths),
      ...scram,
    ]);
  }
  return spawnServer(
    'java',
    javaArgs(paths, 'kafka.Kafka', kafkaProperties(paths)),
    kafkaLog(paths),
  );
}

/** Health: the cluster answers describeCluster with a controller. Resolves with a description. */
export async function checkKafka(config: KafkaConfig): Promise<string> {
  const admin = createKafka(config, {
    clientId: 'agp-infra',
    // A probe that fails while the broker starts is expected; the caller reports the last error.
    level: logLevel.NOTHING,
    overrides: { connectionTimeout: 2000, retry: { retries: 0 } },
  }).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (cluster.controller === null) throw new Error('no active controller yet');
    return `Kafka cluster ${cluster.clusterId} (${cluster.brokers.length} broker(s))`;
  } finally {
    await admin.disconnect();
  }
}

/** The version of the cached broker, read from its jar name (no JVM start needed). */
export function kafkaVersion(): string {
  const jar = fs.existsSync(KAFKA_LIBS)
    ? fs.readdirSync(KAFKA_LIBS).find((f) => /^kafka_2\.13-.*\.jar$/.test(f))
    : undefined;
  return jar ? `Apache Kafka ${jar.replace(/^kafka_2\.13-|\.jar$/g, '')} (KRaft)` : 'not installed';
}
