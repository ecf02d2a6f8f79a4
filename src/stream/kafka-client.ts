import fs from 'node:fs';
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type logCreator } from 'kafkajs';
import type { KafkaConfig } from '../../schemas/infra-config';

/** Options of {@link createKafka}. */
export interface CreateKafkaOptions {
  /** Shown in broker logs and quotas. @default 'agp' */
  clientId?: string;
  /** Lowest kafkajs level that is printed. @default logLevel.ERROR */
  level?: logLevel;
  /** Extra kafkajs settings (SASL, TLS, timeouts) merged over the defaults. */
  overrides?: Partial<KafkaJsConfig>;
}

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: 'ERROR',
  [logLevel.WARN]: 'WARN',
  [logLevel.INFO]: 'INFO',
  [logLevel.DEBUG]: 'DEBUG',
};

/**
 * kafkajs logs every retriable protocol error (e.g. "group coordinator not available" while
 * the broker creates __consumer_offsets) at ERROR and then retries; real failures reach the
 * caller as thrown errors anyway, so these lines are noise.
 */
const quietLogCreator: logCreator = () => {
  // While a broker is down kafkajs logs the same refused connection on every retry; a line is
  // printed once a minute at most, so an outage is a few lines, not a flood.
  const lastPrinted = new Map<string, number>();
  return ({ namespace, level, log }) => {
    if (namespace === 'Connection' && log.message.startsWith('Response ')) return;
    const label = LEVEL_NAMES[level] ?? String(level);
    const error = typeof log['error'] === 'string' ? `: ${log['error']}` : '';
    const line = `[kafkajs ${label}] ${namespace} ${log.message}${error}`;
    const now = Date.now();
    if (now - (lastPrinted.get(line) ?? -Infinity) < REPEAT_AFTER_MS) return;
    if (lastPrinted.size > 1000) lastPrinted.clear();
    lastPrinted.set(line, now);
    process.stderr.write(`${line}\n`);
  };
};

/** An identical kafkajs log line is printed again only after this long, ms. */
const REPEAT_AFTER_MS = 60_000;

/**
 * kafkajs settings for the configured TLS and SASL. The CA file and the password are read
 * here, when the client is built, and go nowhere else (kafkajs does not log its config).
 */
export function kafkaSecurity(
  config: Pick<KafkaConfig, 'ssl' | 'sasl'>,
): Pick<KafkaJsConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaJsConfig, 'ssl' | 'sasl'> = {};
  if (config.ssl) {
    const { caFile } = config.ssl;
    out.ssl = caFile === undefined ? true : { ca: [fs.readFileSync(caFile, 'utf8')] };
  }
  if (config.sasl) {
    const { mechanism, username, password } = config.sasl;
    // Spelled out per mechanism: kafkajs types SASL options as a union keyed by mechanism.
    out.sasl =
      mechanism === 'plain'
        ? { mechanism, username, password: password.reveal() }
        : { mechanism, username, password: password.reveal() };
  }
  return out;
}

/**
 * Creates a kafkajs client for the configured brokers, with their TLS and SASL settings and
 * quiet logging. Producers should pass `createPartitioner: Partitioners.DefaultPartitioner`
 * explicitly.
 */
export function createKafka(
  config: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>,
  options: CreateKafkaOptions = {},
): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'agp',
    brokers: config.brokers,
    logLevel: options.level ?? logLevel.ERROR,
    logCreator: quietLogCreator,
    ...kafkaSecurity(config),
    ...options.overrides,
  });
}
