/**
 * The gRPC half of `npm run bench:serve`: a load generator for TF Serving's
 * `PredictionService.Predict` that does for gRPC what autocannon does for REST — a fixed number
 * of requests in flight for a fixed time, each answered one replaced by the next at once — with
 * a real gRPC client (@grpc/grpc-js over the vendored TF Serving protos, as the service itself).
 */
import * as grpc from '@grpc/grpc-js';
import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { eventFields } from '../../schemas/feature-spec';
import { loadTfServingServices } from '../../src/serve/grpc/load-protos';

/** What one cell measured, in the same units as the REST cells. */
export interface GrpcCellResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Calls that ended with a status other than OK (deadline exceeded included). */
  errors: number;
}

/** Options of {@link grpcLoad}. */
export interface GrpcLoadOptions {
  /** host:port of the gRPC server. */
  address: string;
  /** Encoded PredictRequest messages, sent in turn (see {@link encodePredictRequests}). */
  requests: readonly Buffer[];
  /** Requests in flight at once. */
  concurrency: number;
  seconds: number;
  /** A call's deadline (autocannon's `timeout` for REST). */
  timeoutSeconds: number;
  /** Channels (HTTP/2 connections) the calls are spread over. @default 1 */
  channels?: number;
}

type Record_ = Pick<ClickEvent, 'dense' | 'sparse'>;

/**
 * PredictRequests of the serving signature's tensors (`dense` float [N, d], `sparse` string
 * [N, c], columns in the order the service's /metadata gives) for the same records a REST
 * request of named feature maps carries, serialized once as autocannon sends pre-built bodies.
 */
export function encodePredictRequests(
  model: string,
  spec: FeatureSpec,
  requests: readonly (readonly Record_[])[],
): Buffer[] {
  const predict = loadTfServingServices().predictionService['Predict'];
  if (predict === undefined) throw new Error('the vendored protos have no Predict method');
  const names = eventFields(spec);
  return requests.map((records) => {
    const n = String(records.length);
    return predict.requestSerialize({
      model_spec: { name: model, signature_name: 'serving_default' },
      inputs: {
        dense: {
          dtype: 'DT_FLOAT',
          tensor_shape: { dim: [{ size: n }, { size: String(names.dense.length) }] },
          float_val: records.flatMap((r) => names.dense.map((d) => r.dense[d] ?? Number.NaN)),
        },
        sparse: {
          dtype: 'DT_STRING',
          tensor_shape: { dim: [{ size: n }, { size: String(names.sparse.length) }] },
          string_val: records.flatMap((r) =>
            names.sparse.map((s) => Buffer.from(String(r.sparse[s] ?? ''))),
          ),
        },
      },
    });
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

/**
 * Drives `concurrency` Predict calls in flight over one channel (how a TF Serving client
 * shares a channel) for `seconds`, and reports requests/s, p50/p99 latency (ms, from the call
 * to its status) and errors. Requests are pre-encoded; replies are not decoded, only their
 * status read, as autocannon reads only REST statuses.
 */
export async function grpcLoad(options: GrpcLoadOptions): Promise<GrpcCellResult> {
  const predict = loadTfServingServices().predictionService['Predict'];
  if (predict === undefined) throw new Error('the vendored protos have no Predict method');
  const Client = grpc.makeGenericClientConstructor(
    {
      Predict: {
        ...predict,
        requestSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'PredictionService',
  );
  const clients = Array.from(
    { length: options.channels ?? 1 },
    () =>
      new Client(options.address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': 64 * 2 ** 20,
        'grpc.max_send_message_length': 64 * 2 ** 20,
        // Without it grpc-js shares one connection among clients of the same target.
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve, reject) =>
          client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
        ),
    ),
  );
  const call = (client: grpc.Client, body: Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      const deadline = Date.now() + options.timeoutSeconds * 1000;
      (
        client as unknown as {
          Predict(b: Buffer, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
        }
      ).Predict(body, { deadline }, (error) => resolve(error === null));
    });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const end = start + options.seconds * 1000;
  const lane = async (_: unknown, i: number): Promise<void> => {
    const client = clients[i % clients.length] as grpc.Client;
    while (performance.now() < end) {
      const body = options.requests[next++ % options.requests.length] as Buffer;
      const t = performance.now();
      const ok = await call(client, body);
      if (ok) latencies.push(performance.now() - t);
      else errors++;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, lane));
  } finally {
    for (const client of clients) client.close();
  }
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    requestsPerSecond: latencies.length / elapsed,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    errors,
  };
}
