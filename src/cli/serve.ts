import { parseArgs } from 'node:util';
import { infraConfig } from '../config/env';
import { ConfigError } from '../errors';
import { initBackend } from '../model/backend';
import { openRegistry, registryLocationFromEnv } from '../registry/open-registry';
import { createScoringService } from '../serve/scoring-service';
import { parseServedModel } from '../serve/version-policy';
import { createKafka } from '../stream/kafka-client';

const USAGE = `usage: agp serve --model <name>[@policy] [--model …] [options]

Serves models from the registry as TensorFlow Serving does, so its clients work unchanged:
REST on --port and gRPC (PredictionService Predict/GetModelMetadata, ModelService
GetModelStatus, TF Serving's own protos) on --grpc-port.
  POST /v1/models/<name>[/versions/<v>|/labels/<l>]:predict
         {"instances": [{"dense": {"d1": 3}, "sparse": {"c1": "a"}}]}    named features; absent = missing
         {"instances": [{"dense": [3, …], "sparse": ["a", …]}]}          the signature's tensors
         {"inputs": {"dense": [[3, …]], "sparse": [["a", …]]}}           columns → {"outputs": […]}
  POST /v1/models/<name>:regress   {"examples": [{"d1": 3, "c1": "a"}]} → {"result": […]}
  GET  /v1/models/<name>[/versions/<v>|/labels/<l>][/metadata]   status, signature
  GET  /healthz    GET /readyz    GET /metrics (Prometheus)
  labels: stable = the newest promoted version, canary = latest (reachable while loaded)
A version that cannot be served (corrupt, gone) never leaves a model without one: the newest
version that verifies serves instead, and /readyz and the model status say which and why.

policy: latest (default: follows the registry's latest pointer, rollbacks included),
        promoted (the newest promoted version), or a version to pin (v000042 or 42)

options:
  --port <n>               default 8501 (TF Serving's REST port)
  --grpc-port <n>          default 8500 (TF Serving's gRPC port)
  --no-grpc                serve REST only
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
        'grpc-port': { type: 'string' },
        'no-grpc': { type: 'boolean', default: false },
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
  const grpcPort = positiveInt('grpc-port', values['grpc-port'], 8500, 0);
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
  const host = values.host ?? '127.0.0.1';
  let address: string;
  let grpcAddress = '';
  try {
    address = await service.listen(port, host);
    if (!values['no-grpc']) {
      grpcAddress = `; gRPC on ${host}:${await service.listenGrpc(grpcPort, host)}`;
    }
  } catch (error) {
    // A supervisor must see a process that cannot serve exit, not a live one listening nowhere.
    await service.close();
    throw error;
  }
  process.stderr.write(
    `agp serve: listening on ${address}${grpcAddress} (registry ${store.location}; models ${models.map((m) => m.model).join(', ')})\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('agp serve: stopping\n');
  await service.close();
  return 0;
}
