import path from 'node:path';
import { InfraEnv, type InfraConfig } from '../../schemas/infra-config';
import { parseOrThrow } from '../../schemas/zod-errors';

/**
 * Parses the environment into an {@link InfraConfig}. Pure: the same input gives the same
 * config, and a bad value throws a ConfigError naming the variable.
 *
 * @param env - variables to read. @default process.env
 * @param cwd - base for a relative AGP_DATA_DIR. @default process.cwd()
 */
export function parseInfraConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): InfraConfig {
  const e = parseOrThrow(InfraEnv, env, 'environment');
  const embeddedTemporal = e.TEMPORAL_ADDRESS === undefined;
  const embeddedKafka = e.KAFKA_BROKERS === undefined;
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.AGP_TEMPORAL_PORT}`,
      namespace: e.TEMPORAL_NAMESPACE,
      embedded: embeddedTemporal,
      port: e.AGP_TEMPORAL_PORT,
      uiPort: e.AGP_TEMPORAL_UI_PORT,
      ...(embeddedTemporal ? { uiUrl: `http://127.0.0.1:${e.AGP_TEMPORAL_UI_PORT}` } : {}),
    },
    kafka: {
      brokers: e.KAFKA_BROKERS ?? [`127.0.0.1:${e.AGP_KAFKA_PORT}`],
      embedded: embeddedKafka,
      port: e.AGP_KAFKA_PORT,
      controllerPort: e.AGP_KAFKA_CONTROLLER_PORT,
    },
    taskQueue: e.AGP_TASK_QUEUE,
    dataDir: path.resolve(cwd, e.AGP_DATA_DIR),
  };
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
