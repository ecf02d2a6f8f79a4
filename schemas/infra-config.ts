import { z } from 'zod';
import { Secret } from './secret';

/** `host:port`, as Temporal and Kafka clients take their addresses. */
const HostPort = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233');

/** A TCP port given as an environment string. */
const Port = z.coerce.number().int().min(1).max(65535);

/** An environment variable that is absent when unset or empty (shells often export `X=`). */
function optionalEnv<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
}

/** A boolean flag given as an environment string. */
const Flag = z
  .enum(['true', 'false', '1', '0'], { error: "expected 'true' or 'false'" })
  .transform((v) => v === 'true' || v === '1');

/** A credential: redacted whenever the configuration is printed (see {@link Secret}). */
const SecretValue = z.custom<Secret>((v) => v instanceof Secret, 'expected a Secret');

/** A file the process reads (CA, certificate, key, password); checked to exist when parsed. */
const FilePath = z.string().trim().min(1);

/** The SASL mechanisms the product speaks to Kafka (kafkajs names). */
export const KafkaSaslMechanism = z.enum(['plain', 'scram-sha-512']);
export type KafkaSaslMechanism = z.infer<typeof KafkaSaslMechanism>;

/**
 * The process environment the pipeline reads, before it is shaped into {@link InfraConfig}.
 * Setting TEMPORAL_ADDRESS or KAFKA_BROKERS points the product at existing servers and
 * stops `infra/` from starting the embedded ones.
 */
export const InfraEnv = z.object({
  /** Temporal frontend; unset = the embedded dev server on 127.0.0.1:AGP_TEMPORAL_PORT. */
  TEMPORAL_ADDRESS: optionalEnv(HostPort),
  /** @default 'default' */
  TEMPORAL_NAMESPACE: optionalEnv(
    z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, 'letters, digits, ".", "_" or "-" only'),
  ).default('default'),
  /** Comma-separated host:port list; unset = the embedded broker on 127.0.0.1:AGP_KAFKA_PORT. */
  KAFKA_BROKERS: optionalEnv(
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b !== ''),
      )
      .pipe(z.array(HostPort).min(1, 'at least one broker')),
  ),
  /** @default 'agp' */
  AGP_TASK_QUEUE: optionalEnv(z.string().trim().min(1)).default('agp'),
  /** Where state lives (servers' data, logs, pids, registry); relative to the working directory. @default '.data' */
  AGP_DATA_DIR: optionalEnv(z.string().trim().min(1)).default('.data'),
  /**
   * Run the embedded servers in secure mode (`infra:up -- --secure`): TLS/mTLS Temporal and a
   * SASL_SSL Kafka, in `<AGP_DATA_DIR>/secure` and on their own ports. @default false
   */
  AGP_SECURE: optionalEnv(Flag).default(false),
  /** Port clients use (the TLS port in secure mode). @default 7233, secure 7234 */
  AGP_TEMPORAL_PORT: optionalEnv(Port),
  /** @default 8233, secure 8234 */
  AGP_TEMPORAL_UI_PORT: optionalEnv(Port),
  /** Secure mode only: the dev server's own loopback port behind the TLS terminator. @default AGP_TEMPORAL_PORT + 1 */
  AGP_TEMPORAL_BACKEND_PORT: optionalEnv(Port),
  /** @default 9092, secure 9094 */
  AGP_KAFKA_PORT: optionalEnv(Port),
  /** @default 9093, secure 9095 */
  AGP_KAFKA_CONTROLLER_PORT: optionalEnv(Port),

  /** Connect to Kafka over TLS. @default false */
  KAFKA_SSL: optionalEnv(Flag),
  /** PEM file of the CA that signed the brokers' certificates; unset = the system's CAs. */
  KAFKA_SSL_CA: optionalEnv(FilePath),
  /** Authenticate to Kafka with SASL; needs KAFKA_SASL_USERNAME and a password. */
  KAFKA_SASL_MECHANISM: optionalEnv(z.string().trim().toLowerCase().pipe(KafkaSaslMechanism)),
  KAFKA_SASL_USERNAME: optionalEnv(z.string().trim().min(1)),
  /** The SASL password inline; prefer KAFKA_SASL_PASSWORD_FILE (not in the process environment). */
  KAFKA_SASL_PASSWORD: optionalEnv(z.string()),
  KAFKA_SASL_PASSWORD_FILE: optionalEnv(FilePath),

  /** Connect to Temporal over TLS (implied by TEMPORAL_API_KEY). @default false */
  TEMPORAL_TLS: optionalEnv(Flag),
  /** PEM file of the CA that signed the frontend's certificate; unset = the system's CAs. */
  TEMPORAL_TLS_CA: optionalEnv(FilePath),
  /** mTLS: PEM client certificate (with TEMPORAL_TLS_KEY), as Temporal Cloud's mTLS auth takes. */
  TEMPORAL_TLS_CERT: optionalEnv(FilePath),
  /** mTLS: PEM private key of TEMPORAL_TLS_CERT. */
  TEMPORAL_TLS_KEY: optionalEnv(FilePath),
  /** The name the server's certificate must carry, when it differs from the address's host. */
  TEMPORAL_TLS_SERVER_NAME: optionalEnv(z.string().trim().min(1)),
  /** Temporal Cloud API key inline; prefer TEMPORAL_API_KEY_FILE. */
  TEMPORAL_API_KEY: optionalEnv(z.string()),
  TEMPORAL_API_KEY_FILE: optionalEnv(FilePath),
});
export type InfraEnv = z.infer<typeof InfraEnv>;

/** Where Temporal is and whether `infra/` runs it. */
export const TemporalConfig = z.object({
  address: HostPort,
  namespace: z.string(),
  /** True when no TEMPORAL_ADDRESS was given: `infra/` starts the dev server. */
  embedded: z.boolean(),
  /** Ports of the embedded dev server (ignored when not embedded). */
  port: Port,
  uiPort: Port,
  /** Temporal Web UI base URL (the embedded server's; unknown for an external cluster). */
  uiUrl: z.string().optional(),
  /** Secure embedded mode: the dev server's plaintext loopback port behind the TLS terminator. */
  backendPort: Port.optional(),
  /** TLS to the frontend; present = on. Files are PEM; cert + key = mTLS. */
  tls: z
    .object({
      caFile: z.string().optional(),
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      serverName: z.string().optional(),
    })
    .optional(),
  /** Temporal Cloud API key (sent as a bearer token; requires TLS). */
  apiKey: SecretValue.optional(),
});
export type TemporalConfig = z.infer<typeof TemporalConfig>;

/** Where Kafka is and whether `infra/` runs it. */
export const KafkaConfig = z.object({
  brokers: z.array(HostPort).min(1),
  /** True when no KAFKA_BROKERS were given: `infra/` starts the KRaft broker. */
  embedded: z.boolean(),
  port: Port,
  controllerPort: Port,
  /** TLS to the brokers; present = on. `caFile` unset = the system's CAs. */
  ssl: z.object({ caFile: z.string().optional() }).optional(),
  /** SASL authentication to the brokers. */
  sasl: z
    .object({ mechanism: KafkaSaslMechanism, username: z.string(), password: SecretValue })
    .optional(),
});
export type KafkaConfig = z.infer<typeof KafkaConfig>;

/** The parsed, typed infrastructure configuration every composition root starts from. */
export const InfraConfig = z.object({
  temporal: TemporalConfig,
  kafka: KafkaConfig,
  taskQueue: z.string(),
  /** Absolute path of the state directory (`<AGP_DATA_DIR>/secure` in secure mode). */
  dataDir: z.string(),
  /** The embedded servers run in secure mode (TLS/mTLS Temporal, SASL_SSL Kafka). */
  secure: z.boolean(),
});
export type InfraConfig = z.infer<typeof InfraConfig>;
