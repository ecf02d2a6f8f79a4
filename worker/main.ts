import { parseInfraConfig } from '../src/config/env';
import { createWorker } from './create-worker';
import { runMain } from '../src/cli/run-main';

/**
 * The production worker: polls the configured task queue with every workflow and activity
 * until SIGINT/SIGTERM, then drains and exits. It does not start servers: run it against
 * `npm run infra:up` or TEMPORAL_ADDRESS / KAFKA_BROKERS.
 */
async function main(): Promise<number> {
  const config = parseInfraConfig();
  const { worker, backend, close } = await createWorker(config);
  process.stdout.write(
    `worker: polling task queue '${config.taskQueue}' on ${config.temporal.address} (namespace ${config.temporal.namespace}), tfjs backend '${backend}'; Ctrl-C stops\n`,
  );
  try {
    await worker.run();
  } finally {
    await close();
  }
  return 0;
}

runMain('worker', () => main());
