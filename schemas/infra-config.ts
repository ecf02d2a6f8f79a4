import { z } from 'zod';

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
  /** @default 7233 */
  AGP_TEMPORAL_PORT: optionalEnv(Port).default(7233),
  /** @default 8233 */
  AGP_TEMPORAL_UI_PORT: optionalEnv(Port).default(8233),
  /** @default 9092 */
  AGP_KAFKA_PORT: optionalEnv(Port).default(9092),
  /** @default 9093 */
  AGP_KAFKA_CONTROLLER_PORT: optionalEnv(Port).default(9093),
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
});
export type TemporalConfig = z.infer<typeof TemporalConfig>;

/** Where Kafka is and whether `infra/` runs it. */
export const KafkaConfig = z.object({
  brokers: z.array(HostPort).min(1),
  /** True when no KAFKA_BROKERS were given: `infra/` starts the KRaft broker. */
  embedded: z.boolean(),
  port: Port,
  controllerPort: Port,
});
export type KafkaConfig = z.infer<typeof KafkaConfig>;

/** The parsed, typed infrastructure configuration every composition root starts from. */
export const InfraConfig = z.object({
  temporal: TemporalConfig,
  kafka: KafkaConfig,
  taskQueue: z.string(),
  /** Absolute path of the state directory. */
  dataDir: z.string(),
});
export type InfraConfig = z.infer<typeof InfraConfig>;
