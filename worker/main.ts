import { parseInfraConfig } from '../src/config/env';
import { createWorker } from './create-worker';
import { runSupervised } from './supervise';
import { runMain } from '../src/cli/run-main';

/**
 * The production worker: polls the configured task queue with every workflow and activity
 * until SIGINT/SIGTERM, then drains and exits. It does not start servers: run it against
 * `npm run infra:up` or TEMPORAL_ADDRESS / KAFKA_BROKERS.
 */
const USAGE = `usage: npm run worker [-- --help]

Runs a long-lived Temporal worker: every workflow (offlineTraining, recurringTraining,
dailyRetraining, smoke) and activity of the product, on task queue AGP_TASK_QUEUE (default agp),
against TEMPORAL_ADDRESS and KAFKA_BROKERS (default the embedded servers on 127.0.0.1:7233 and
127.0.0.1:9092; it does not start them: npm run infra:up). SIGINT/SIGTERM drain it and exit.
A worker that stops with an error (a Temporal outage core gives up on) is re-created after a
backoff (2 s doubling to 30 s), so the process never stays up polling nothing.
Other variables: TEMPORAL_NAMESPACE, AGP_DATA_DIR, AGP_BACKEND (see the README's Configuration).
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`worker: unknown arguments ${argv.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const config = parseInfraConfig();
  const first = await createWorker(config);
  process.stdout.write(
    `worker: polling task queue '${config.taskQueue}' on ${config.temporal.address} (namespace ${config.temporal.namespace}), tfjs backend '${first.backend}'; Ctrl-C stops\n`,
  );
  let made = 0;
  await runSupervised(
    () => (made++ === 0 ? Promise.resolve(first) : createWorker(config)),
    (line) => process.stderr.write(`worker: ${line}\n`),
  );
  return 0;
}

runMain('worker', () => main(process.argv.slice(2)));
