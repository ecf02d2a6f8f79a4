import { parseArgs } from 'node:util';
import { infraConfig } from '../config/env';
import { ConfigError } from '../errors';
import { initBackend } from '../model/backend';
import { openRegistry, registryLocationFromEnv } from '../registry/open-registry';
import { createScoringService } from '../serve/scoring-service';
import { parseServedModel } from '../serve/version-policy';
import { createKafka } from '../stream/kafka-client';

const USAGE = `usage: agp serve --model <name>[@policy] [--model …] [options]

Serves models from the registry over HTTP in TensorFlow Serving's REST shape:
  POST /v1/models/<name>:predict                {"instances": [{"dense": {…}, "sparse": {…}}]}
  POST /v1/models/<name>/versions/<v>:predict   a loaded version (the serving one or the one
                                                it replaced, during the grace period)
  GET  /v1/models/<name>    GET /healthz    GET /readyz    GET /metrics (Prometheus)

policy: latest (default: follows the registry's latest pointer, rollbacks included),
        promoted (the newest promoted version), or a version to pin (v000042 or 42)

options:
  --port <n>               default 8501 (TF Serving's REST port)
  --host <addr>            default 127.0.0.1
  --root <dir>             registry directory (default: $AGP_DATA_DIR/registry)
  --no-watch               do not listen to agp.registry announcements on Kafka (poll only)
  --registry-topic <t>     default agp.registry
  --poll-ms <n>            registry poll interval, default 500
  --grace-ms <n>           how long a replaced version stays loaded, default 60000
  --batch-window-ms <n>    micro-batching window, default 0 (the current event-loop turn)
  --max-batch-rows <n>     rows that make a batch score at once, default 512
  --max-instances <n>      instances per request, default 1024
  --body-limit <bytes>     largest request body (413 beyond), default 4194304
  --request-timeout-ms <n> a request must arrive whole within this (408), default 10000
  --export-dir <dir>       keep <dir>/<model>/<n>/ holding the served version as a TensorFlow
                           SavedModel (TF Serving's model base path; a rollback follows)
`;

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigError(`--${name}: expected an integer ≥ ${min}, got '${text}'`);
  }
  return n;
}

/** `agp serve`: the scoring service. Runs until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        model: { type: 'string', multiple: true },
        port: { type: 'string' },
        host: { type: 'string' },
        root: { type: 'string' },
        'no-watch': { type: 'boolean', default: false },
        'registry-topic': { type: 'string' },
        'poll-ms': { type: 'string' },
        'grace-ms': { type: 'string' },
        'batch-window-ms': { type: 'string' },
        'max-batch-rows': { type: 'string' },
        'max-instances': { type: 'string' },
        'body-limit': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'export-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`agp serve: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.model || values.model.length === 0) {
    process.stderr.write(`agp serve: name at least one --model\n\n${USAGE}`);
    return 2;
  }
  const models = values.model.map(parseServedModel);
  const port = positiveInt('port', values.port, 8501, 0);
  const infra = infraConfig();
  await initBackend();
  const store = await openRegistry(
    registryLocationFromEnv(infra.dataDir, process.env, values.root),
  );
  const service = await createScoringService({
    store,
    models,
    ...(values['no-watch'] ? {} : { kafka: createKafka(infra.kafka, { clientId: 'agp-serve' }) }),
    ...(values['registry-topic'] !== undefined ? { registryTopic: values['registry-topic'] } : {}),
    pollMs: positiveInt('poll-ms', values['poll-ms'], 500),
    graceMs: positiveInt('grace-ms', values['grace-ms'], 60_000, 0),
    batchWindowMs: positiveInt('batch-window-ms', values['batch-window-ms'], 0, 0),
    maxBatchRows: positiveInt('max-batch-rows', values['max-batch-rows'], 512),
    maxInstances: positiveInt('max-instances', values['max-instances'], 1024),
    bodyLimitBytes: positiveInt('body-limit', values['body-limit'], 4 * 1024 * 1024),
    requestTimeoutMs: positiveInt('request-timeout-ms', values['request-timeout-ms'], 10_000),
    ...(values['export-dir'] !== undefined ? { exportDir: values['export-dir'] } : {}),
  });
  let address: string;
  try {
    address = await service.listen(port, values.host ?? '127.0.0.1');
  } catch (error) {
    // A supervisor must see a process that cannot serve exit, not a live one listening nowhere.
    await service.close();
    throw error;
  }
  process.stderr.write(
    `agp serve: listening on ${address} (registry ${store.location}; models ${models.map((m) => m.model).join(', ')})\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('agp serve: stopping\n');
  await service.close();
  return 0;
}
