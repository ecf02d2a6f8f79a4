import crypto from 'node:crypto';
import { logLevel } from 'kafkajs';
import fs from 'node:fs';
import path from 'node:path';
import type { KafkaConfig } from '../schemas/infra-config';
import { InfraError } from '../src/errors';
import { createKafka } from '../src/stream/kafka-client';
import { CACHE_DIR, REPO_ROOT, type StatePaths } from './paths';
import { onPath, runCommand, spawnServer } from './process';
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

function writeConfig(config: KafkaConfig, paths: StatePaths): void {
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
  fs.writeFileSync(kafkaProperties(paths), `# written by infra/kafka.ts\n${text}\n`);
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

function javaArgs(paths: StatePaths, mainClass: string, ...args: string[]): string[] {
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
    mainClass,
    ...args,
  ];
}

/** Writes the configuration, formats the storage the first time, starts the broker; returns its pid. */
export async function startKafka(config: KafkaConfig, paths: StatePaths): Promise<number> {
  requireJava();
  writeConfig(config, paths);
  if (!fs.existsSync(path.join(paths.kafkaLogDirs, 'meta.properties'))) {
    // A KRaft cluster id is 16 random bytes in URL-safe base64 without padding. One that starts
    // with '-' reads as an option to the storage tool's parser, so draw again (as Kafka's own
    // Uuid.randomUuid does).
    let clusterId = crypto.randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = crypto.randomBytes(16).toString('base64url');
    await runCommand(
      'java',
      javaArgs(
        paths,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        kafkaProperties(paths),
      ),
    );
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
