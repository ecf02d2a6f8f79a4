import fs from 'node:fs';
import path from 'node:path';
import {
  InfraEnv,
  type InfraConfig,
  type KafkaConfig,
  type TemporalConfig,
} from '../../schemas/infra-config';
import { Secret } from '../../schemas/secret';
import { parseOrThrow } from '../../schemas/zod-errors';
import { ConfigError } from '../errors';
import { SECURE_KAFKA_USER, SECURE_SERVER_NAME, secureMaterial } from './secure-material';

/**
 * Parses the environment into an {@link InfraConfig}. The same input gives the same config
 * (files named by *_FILE / TLS variables are only checked to be readable here; they are read
 * when a client is built), and a bad value or a wrong combination throws a ConfigError naming
 * the variable.
 *
 * @param env - variables to read. @default process.env
 * @param cwd - base for a relative AGP_DATA_DIR. @default process.cwd()
 */
export function parseInfraConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): InfraConfig {
  const e = parseOrThrow(InfraEnv, env, 'environment');
  const problems: string[] = [];
  const secure = e.AGP_SECURE;
  const baseDir = path.resolve(cwd, e.AGP_DATA_DIR);
  // Secure mode never shares state (or ports) with the default embedded servers.
  const dataDir = secure ? path.join(baseDir, 'secure') : baseDir;
  const embeddedTemporal = e.TEMPORAL_ADDRESS === undefined;
  const embeddedKafka = e.KAFKA_BROKERS === undefined;
  const temporalPort = e.AGP_TEMPORAL_PORT ?? (secure ? 7234 : 7233);
  const uiPort = e.AGP_TEMPORAL_UI_PORT ?? (secure ? 8234 : 8233);
  const kafkaPort = e.AGP_KAFKA_PORT ?? (secure ? 9094 : 9092);

  const temporal: TemporalConfig = {
    address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${temporalPort}`,
    namespace: e.TEMPORAL_NAMESPACE,
    embedded: embeddedTemporal,
    port: temporalPort,
    uiPort,
    // Secure mode runs the embedded server without its UI (the UI has no client certificates).
    ...(embeddedTemporal && !secure ? { uiUrl: `http://127.0.0.1:${uiPort}` } : {}),
    ...temporalSecurity(e, embeddedTemporal && secure, dataDir, problems),
  };
  if (embeddedTemporal && secure) {
    temporal.backendPort = e.AGP_TEMPORAL_BACKEND_PORT ?? temporalPort + 1;
  }
  const kafka: KafkaConfig = {
    brokers: e.KAFKA_BROKERS ?? [`127.0.0.1:${kafkaPort}`],
    embedded: embeddedKafka,
    port: kafkaPort,
    controllerPort: e.AGP_KAFKA_CONTROLLER_PORT ?? (secure ? 9095 : 9093),
    ...kafkaSecurity(e, embeddedKafka && secure, dataDir, problems),
  };
  if (problems.length) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`);
  return { temporal, kafka, taskQueue: e.AGP_TASK_QUEUE, dataDir, secure };
}

type Env = InfraEnv;
type Named<K extends keyof Env> = [K, Env[K]];

/** The names of those variables that are set. */
function setOnes(...vars: Named<keyof Env>[]): string[] {
  return vars.filter(([, v]) => v !== undefined).map(([k]) => k);
}

function checkReadable(variable: string, file: string | undefined, problems: string[]): void {
  if (file === undefined) return;
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    problems.push(`${variable}: cannot read file ${file}`);
  }
}

/** A credential given inline or as a file (never both). */
function secretFrom(
  inline: Named<'KAFKA_SASL_PASSWORD' | 'TEMPORAL_API_KEY'>,
  file: Named<'KAFKA_SASL_PASSWORD_FILE' | 'TEMPORAL_API_KEY_FILE'>,
  problems: string[],
): Secret | undefined {
  const [inlineName, value] = inline;
  const [fileName, filePath] = file;
  if (value !== undefined && filePath !== undefined) {
    problems.push(`${inlineName}: set either ${inlineName} or ${fileName}, not both`);
    return undefined;
  }
  if (value !== undefined) return Secret.of(value);
  if (filePath === undefined) return undefined;
  checkReadable(fileName, filePath, problems);
  // A trailing newline is how editors and `echo` end a one-line file, never part of a secret.
  return Secret.lazy(() => fs.readFileSync(filePath, 'utf8').replace(/\r?\n$/, ''));
}

function kafkaSecurity(
  e: Env,
  embeddedSecure: boolean,
  dataDir: string,
  problems: string[],
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const external = setOnes(
    ['KAFKA_SSL', e.KAFKA_SSL],
    ['KAFKA_SSL_CA', e.KAFKA_SSL_CA],
    ['KAFKA_SASL_USERNAME', e.KAFKA_SASL_USERNAME],
    ['KAFKA_SASL_PASSWORD', e.KAFKA_SASL_PASSWORD],
    ['KAFKA_SASL_PASSWORD_FILE', e.KAFKA_SASL_PASSWORD_FILE],
  );
  if (e.KAFKA_BROKERS === undefined) {
    if (external.length) {
      problems.push(
        `${external[0]}: applies to brokers given by KAFKA_BROKERS; the embedded broker's security comes from infra (AGP_SECURE=true)`,
      );
    } else if (e.KAFKA_SASL_MECHANISM !== undefined && !embeddedSecure) {
      problems.push(
        'KAFKA_SASL_MECHANISM: the embedded broker is plaintext; set KAFKA_BROKERS, or AGP_SECURE=true for the embedded SASL_SSL broker',
      );
    }
    if (!embeddedSecure) return {};
    const m = secureMaterial(dataDir);
    return {
      ssl: { caFile: m.caCert },
      sasl: {
        mechanism: e.KAFKA_SASL_MECHANISM ?? 'scram-sha-512',
        username: SECURE_KAFKA_USER,
        password: Secret.lazy(() => fs.readFileSync(m.kafkaClientPassword, 'utf8')),
      },
    };
  }

  if (e.KAFKA_SSL === false && e.KAFKA_SSL_CA !== undefined) {
    problems.push('KAFKA_SSL_CA: set, but KAFKA_SSL=false');
  }
  checkReadable('KAFKA_SSL_CA', e.KAFKA_SSL_CA, problems);
  const ssl = e.KAFKA_SSL ?? e.KAFKA_SSL_CA !== undefined;
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = ssl
    ? { ssl: e.KAFKA_SSL_CA === undefined ? {} : { caFile: e.KAFKA_SSL_CA } }
    : {};

  const password = secretFrom(
    ['KAFKA_SASL_PASSWORD', e.KAFKA_SASL_PASSWORD],
    ['KAFKA_SASL_PASSWORD_FILE', e.KAFKA_SASL_PASSWORD_FILE],
    problems,
  );
  const mechanism = e.KAFKA_SASL_MECHANISM;
  if (mechanism === undefined) {
    const stray = external.filter((k) => k.startsWith('KAFKA_SASL_'));
    if (stray.length) problems.push(`KAFKA_SASL_MECHANISM: required when ${stray[0]} is set`);
    return out;
  }
  if (e.KAFKA_SASL_USERNAME === undefined) {
    problems.push(`KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set`);
  }
  if (e.KAFKA_SASL_PASSWORD === undefined && e.KAFKA_SASL_PASSWORD_FILE === undefined) {
    problems.push(
      'KAFKA_SASL_PASSWORD: required (or KAFKA_SASL_PASSWORD_FILE) when KAFKA_SASL_MECHANISM is set',
    );
  }
  if (mechanism === 'plain' && !ssl) {
    problems.push(
      "KAFKA_SASL_MECHANISM: 'plain' sends the password in clear text; set KAFKA_SSL=true",
    );
  }
  if (e.KAFKA_SASL_USERNAME !== undefined && password !== undefined) {
    out.sasl = { mechanism, username: e.KAFKA_SASL_USERNAME, password };
  }
  return out;
}

function temporalSecurity(
  e: Env,
  embeddedSecure: boolean,
  dataDir: string,
  problems: string[],
): Pick<TemporalConfig, 'tls' | 'apiKey'> {
  const given = setOnes(
    ['TEMPORAL_TLS', e.TEMPORAL_TLS],
    ['TEMPORAL_TLS_CA', e.TEMPORAL_TLS_CA],
    ['TEMPORAL_TLS_CERT', e.TEMPORAL_TLS_CERT],
    ['TEMPORAL_TLS_KEY', e.TEMPORAL_TLS_KEY],
    ['TEMPORAL_TLS_SERVER_NAME', e.TEMPORAL_TLS_SERVER_NAME],
    ['TEMPORAL_API_KEY', e.TEMPORAL_API_KEY],
    ['TEMPORAL_API_KEY_FILE', e.TEMPORAL_API_KEY_FILE],
  );
  if (e.TEMPORAL_ADDRESS === undefined) {
    if (given.length) {
      problems.push(
        `${given[0]}: applies to a server given by TEMPORAL_ADDRESS; the embedded server's TLS comes from infra (AGP_SECURE=true)`,
      );
    }
    if (!embeddedSecure) return {};
    const m = secureMaterial(dataDir);
    return {
      tls: {
        caFile: m.caCert,
        certFile: m.clientCert,
        keyFile: m.clientKey,
        serverName: SECURE_SERVER_NAME,
      },
    };
  }

  const tlsFiles = setOnes(
    ['TEMPORAL_TLS_CA', e.TEMPORAL_TLS_CA],
    ['TEMPORAL_TLS_CERT', e.TEMPORAL_TLS_CERT],
    ['TEMPORAL_TLS_KEY', e.TEMPORAL_TLS_KEY],
    ['TEMPORAL_TLS_SERVER_NAME', e.TEMPORAL_TLS_SERVER_NAME],
  );
  const apiKey = secretFrom(
    ['TEMPORAL_API_KEY', e.TEMPORAL_API_KEY],
    ['TEMPORAL_API_KEY_FILE', e.TEMPORAL_API_KEY_FILE],
    problems,
  );
  const apiKeyGiven = e.TEMPORAL_API_KEY !== undefined || e.TEMPORAL_API_KEY_FILE !== undefined;
  if (e.TEMPORAL_TLS === false) {
    if (tlsFiles.length) problems.push(`${tlsFiles[0]}: set, but TEMPORAL_TLS=false`);
    if (apiKeyGiven) {
      problems.push(
        'TEMPORAL_TLS: an API key must not travel in clear text; remove TEMPORAL_TLS=false',
      );
    }
  }
  if ((e.TEMPORAL_TLS_CERT === undefined) !== (e.TEMPORAL_TLS_KEY === undefined)) {
    const missing = e.TEMPORAL_TLS_CERT === undefined ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY';
    problems.push(`${missing}: mTLS needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY`);
  }
  checkReadable('TEMPORAL_TLS_CA', e.TEMPORAL_TLS_CA, problems);
  checkReadable('TEMPORAL_TLS_CERT', e.TEMPORAL_TLS_CERT, problems);
  checkReadable('TEMPORAL_TLS_KEY', e.TEMPORAL_TLS_KEY, problems);

  const out: Pick<TemporalConfig, 'tls' | 'apiKey'> = {};
  if (e.TEMPORAL_TLS ?? (tlsFiles.length > 0 || apiKeyGiven)) {
    out.tls = {
      ...(e.TEMPORAL_TLS_CA === undefined ? {} : { caFile: e.TEMPORAL_TLS_CA }),
      ...(e.TEMPORAL_TLS_CERT === undefined ? {} : { certFile: e.TEMPORAL_TLS_CERT }),
      ...(e.TEMPORAL_TLS_KEY === undefined ? {} : { keyFile: e.TEMPORAL_TLS_KEY }),
      ...(e.TEMPORAL_TLS_SERVER_NAME === undefined
        ? {}
        : { serverName: e.TEMPORAL_TLS_SERVER_NAME }),
    };
  }
  if (apiKey) out.apiKey = apiKey;
  return out;
}

let cached: InfraConfig | undefined;

/**
 * The process's configuration, parsed from `process.env` on first use and reused after,
 * so every component of one process sees the same values.
 */
export function infraConfig(): InfraConfig {
  cached ??= parseInfraConfig();
  return cached;
}
