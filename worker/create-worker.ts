import path from 'node:path';
import { NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { InfraConfig } from '../schemas/infra-config';
import { initBackend, type BackendName } from '../src/model/backend';
import { publishStagingRoot, sweepPublishStaging } from '../src/pipeline/publish-staging';
import {
  createKafkaAnnouncer,
  openRegistry,
  registryLocationFromEnv,
  type RegistryStore,
} from '../src/registry';
import { temporalConnectionOptions } from '../src/config/temporal-connection';
import { createKafka } from '../src/stream/kafka-client';
import { WorkerLogger } from './worker-logger';

/** The workflow bundle's entry; the worker bundles it with webpack at start. */
export const WORKFLOWS_PATH = path.join(__dirname, '..', 'workflows', 'index.ts');

let runtimeInstalled = false;

/**
 * Keeps the SDK's core runtime at WARN: its INFO lines (worker state changes) drown the
 * product's own output; and removes activity task tokens from every log line (see
 * {@link WorkerLogger}). Must run before the first connection; later calls do nothing.
 *
 * @param write - where log entries go. @default the SDK's stderr format
 * @param metricsAddress - `host:port` where the runtime serves Prometheus metrics at `/metrics`
 *   (the SDK's, prefixed `temporal_`, and the product's own, e.g.
 *   `agp_resume_fallbacks_total`). @default AGP_WORKER_METRICS_ADDRESS, else none
 */
export function installQuietRuntime(
  level: 'WARN' | 'INFO' | 'DEBUG' | 'ERROR' = 'WARN',
  write?: (entry: LogEntry) => void,
  metricsAddress: string | undefined = process.env['AGP_WORKER_METRICS_ADDRESS'] || undefined,
): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // Core's own lines (gRPC retries during an outage, "Activity not found on completion" with
    // its task token) go through the same logger instead of straight to the console, so the
    // token is redacted there too.
    Runtime.install({
      logger: new WorkerLogger(level, write),
      telemetryOptions: {
        logging: { filter: { core: level, other: 'ERROR' }, forward: {} },
        ...(metricsAddress === undefined
          ? {}
          : { metrics: { prometheus: { bindAddress: metricsAddress } } }),
      },
    });
  } catch {
    // Already instantiated by an earlier connection: keep its logger.
  }
}

/** A worker with all workflows and activities, and the connection it owns. */
export interface AgpWorker {
  worker: Worker;
  /** The tfjs backend its activities train and score on (selected once per process). */
  backend: BackendName;
  /** Closes the connection and the announcer's producer; call after the worker has stopped. */
  close(): Promise<void>;
}

/**
 * Creates a worker polling `taskQueue` (default: the configured one) with every workflow
 * and activity of the product, connected to the configured Temporal and Kafka. It selects the
 * tfjs backend first (AGP_BACKEND, else tensorflow → wasm → cpu, as `agp train` does): the
 * recurring activities load models without selecting one, and on tfjs' default (pure-JS cpu)
 * a backlog trains ~100× slower (issue 12 item 3).
 */
export async function createWorker(
  config: InfraConfig,
  options: { taskQueue?: string; workflowBundle?: { code: string }; registry?: RegistryStore } = {},
): Promise<AgpWorker> {
  installQuietRuntime();
  // Checkpoints a SIGKILLed predecessor was publishing; nothing else would ever remove them.
  const swept = await sweepPublishStaging(publishStagingRoot(config.dataDir));
  if (swept.length > 0) {
    process.stderr.write(
      `worker: removed ${swept.length} staging director${swept.length === 1 ? 'y' : 'ies'} of ` +
        `dead processes under ${publishStagingRoot(config.dataDir)}\n`,
    );
  }
  const backend = await initBackend();
  const kafka = createKafka(config.kafka, { clientId: 'agp-worker' });
  // Every publish is announced on Kafka, so registry watchers see the worker's versions.
  const announcer = options.registry ? undefined : createKafkaAnnouncer(kafka);
  const registry =
    options.registry ??
    (await openRegistry(registryLocationFromEnv(config.dataDir), announcer ? { announcer } : {}));
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: options.taskQueue ?? config.taskQueue,
      ...(options.workflowBundle
        ? { workflowBundle: options.workflowBundle }
        : { workflowsPath: WORKFLOWS_PATH }),
      activities: createActivities({ kafka, registry, dataDir: config.dataDir }),
    });
    return {
      worker,
      backend,
      // The announcer's producer connects on the first publish and stays connected: left
      // open, it kept a drained worker's process alive after SIGTERM until it was SIGKILLed.
      close: async () => {
        await connection.close();
        await announcer?.disconnect().catch(() => undefined);
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
