import { Client, Connection } from '@temporalio/client';
import { ensureInfra } from '../infra/stack';
import { parseInfraConfig } from '../src/config/env';
import { smokeTest } from '../workflows';
import { createWorker, installQuietRuntime } from './create-worker';
import { runMain } from '../src/cli/run-main';
import { temporalConnectionOptions } from '../src/config/temporal-connection';

/**
 * `npm start` (for now): brings the servers up (unless TEMPORAL_ADDRESS / KAFKA_BROKERS point
 * elsewhere), runs a worker in this process and the `smokeTest` workflow through it, prints
 * the result and where to see it, and leaves the servers running.
 */
async function main(argv: string[]): Promise<number> {
  const messages = Number(argv[0] ?? 1000);
  if (!Number.isInteger(messages) || messages < 1) {
    process.stderr.write(`smoke: message count must be a positive integer, got '${argv[0]}'\n`);
    return 2;
  }
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const config = parseInfraConfig();
  for (const s of await ensureInfra(config, (line) => say(`infra: ${line}`))) {
    say(`infra: ${s.component.padEnd(8)} ${s.state.padEnd(8)} ${s.address}  ${s.version}`);
  }

  installQuietRuntime();
  const { worker, close } = await createWorker(config);
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowId = `smoke-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    say(`smoke: running workflow ${workflowId} on task queue '${config.taskQueue}'`);
    const result = await worker.runUntil(
      client.workflow.execute(smokeTest, {
        taskQueue: config.taskQueue,
        workflowId,
        args: [{ messages }],
      }),
    );
    say(
      `smoke: Kafka round trip on topic ${result.topic}: produced ${result.produced}, consumed ${result.consumed}, committed ${result.committed} over ${result.partitions} partitions`,
    );
    const ok = result.produced === result.consumed && result.consumed === result.committed;
    if (config.temporal.uiUrl) {
      say(
        `smoke: see it in the Temporal UI: ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`,
      );
    }
    if (config.temporal.embedded || config.kafka.embedded) {
      say('smoke: the servers keep running; stop them with: npm run infra:down');
    }
    say(ok ? 'smoke: OK' : 'smoke: FAILED (counts differ)');
    return ok ? 0 : 1;
  } finally {
    await connection.close();
    await close();
  }
}

runMain('smoke', () => main(process.argv.slice(2)));
