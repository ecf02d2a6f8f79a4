import * as grpc from '@grpc/grpc-js';
import { InfraError } from '../../errors';
import { versionNumber } from '../../registry/version';
import type { ModelSlot } from '../model-slot';
import type { PredictBatcher } from '../predict-batcher';
import { readInstances } from '../request-forms';
import { resolveServed, type ErrorCode, type VersionSelector } from '../resolve-version';
import { describeIssues, scoreInstances } from '../score-records';
import type { ServeMetrics } from '../serve-metrics';
import { signatureDef } from '../signature-metadata';
import { modelStatus } from '../status-routes';
import { loadTfServingServices } from './load-protos';
import {
  TensorError,
  floatVector,
  numberRows,
  stringRows,
  type TensorProtoMessage,
} from './tensor-proto';

/** TF Serving's ModelSpec as proto-loader decodes it (oneofs named by `version_choice`). */
interface ModelSpecMessage {
  name?: string;
  version?: { value?: string | number } | null;
  version_label?: string;
  version_choice?: 'version' | 'version_label';
  signature_name?: string;
}

const GRPC_STATUS: Record<ErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
};

/** A failed call with TF Serving's code and message. */
class CallError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function selectorOf(spec: ModelSpecMessage | null | undefined): VersionSelector {
  if (spec?.version_choice === 'version_label' && spec.version_label) {
    return { label: spec.version_label };
  }
  if (spec?.version_choice === 'version' && spec.version?.value !== undefined) {
    return { version: String(spec.version.value) };
  }
  return {};
}

function checkSignature(spec: ModelSpecMessage | null | undefined): void {
  const name = spec?.signature_name ?? '';
  if (name !== '' && name !== 'serving_default') {
    throw new CallError(
      'INVALID_ARGUMENT',
      `Serving signature name: "${name}" not found in signature def (the one signature is serving_default)`,
    );
  }
}

/** What the gRPC server needs. */
export interface GrpcServerOptions {
  slots: ReadonlyMap<string, ModelSlot>;
  batcher: PredictBatcher;
  metrics: ServeMetrics;
  maxInstances: number;
  log: (line: string) => void;
}

/** A running gRPC server. */
export interface GrpcServer {
  /** Listens on host:port (0 = any); returns the bound port. */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * TF Serving's gRPC API on the service's models: `PredictionService.Predict` and
 * `GetModelMetadata`, `ModelService.GetModelStatus`, with TF Serving's own messages (the
 * vendored protos/), so its official clients work unchanged. Predict takes the signature's
 * tensors (`dense` float [N, d], `sparse` string [N, s]) and answers `probability` float [N].
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { slots, batcher, metrics, maxInstances, log } = options;
  const { predictionService, modelService } = loadTfServingServices();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });

  /** Runs a unary call, mapping CallError to its status and anything else to INTERNAL. */
  const unary =
    <Req, Res>(method: string, body: (request: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      const model = (call.request as { model_spec?: ModelSpecMessage }).model_spec?.name ?? '';
      const label = slots.has(model) ? model : '(unknown)';
      body(call.request).then(
        (response) => {
          metrics.grpcRequests.inc({ model: label, method, code: 'OK' });
          callback(null, response);
        },
        (error: unknown) => {
          const code: ErrorCode = error instanceof CallError ? error.code : 'INTERNAL';
          if (code === 'INTERNAL')
            log(`agp serve: grpc ${method}: ${(error as Error).stack ?? String(error)}`);
          metrics.grpcRequests.inc({ model: label, method, code });
          callback({ code: GRPC_STATUS[code], details: (error as Error).message });
        },
      );
    };

  const target = (spec: ModelSpecMessage | null | undefined) => {
    const resolved = resolveServed(slots, spec?.name ?? '', selectorOf(spec));
    if (!resolved.ok) throw new CallError(resolved.code, resolved.error);
    return resolved;
  };

  server.addService(predictionService, {
    Predict: unary(
      'Predict',
      async (request: {
        model_spec?: ModelSpecMessage;
        inputs?: Record<string, TensorProtoMessage>;
      }) => {
        checkSignature(request.model_spec);
        const { slot, version } = target(request.model_spec);
        const inputs = request.inputs ?? {};
        const columns: Record<string, unknown> = {};
        try {
          for (const [name, tensor] of Object.entries(inputs)) {
            if (name === 'dense') columns[name] = numberRows(name, tensor);
            else if (name === 'sparse') columns[name] = stringRows(name, tensor);
            else
              throw new TensorError(
                `unknown input '${name}' (the signature's inputs are dense and sparse)`,
              );
          }
        } catch (error) {
          if (error instanceof TensorError) throw new CallError('INVALID_ARGUMENT', error.message);
          throw error;
        }
        version.acquire();
        try {
          const scored = await scoreInstances(
            version,
            (names) => readInstances({ inputs: columns }, names, maxInstances),
            batcher,
          );
          if ('issues' in scored)
            throw new CallError('INVALID_ARGUMENT', describeIssues(scored.issues));
          metrics.rowsScored.inc({ model: slot.model }, scored.predictions.length);
          return {
            model_spec: {
              name: slot.model,
              version: { value: String(versionNumber(version.version)) },
              signature_name: 'serving_default',
            },
            outputs: { probability: floatVector(scored.predictions) },
          };
        } finally {
          version.release();
        }
      },
    ),
    GetModelMetadata: unary(
      'GetModelMetadata',
      async (request: { model_spec?: ModelSpecMessage; metadata_field?: string[] }) => {
        const fields = request.metadata_field ?? [];
        if (fields.length !== 1 || fields[0] !== 'signature_def') {
          throw new CallError(
            'INVALID_ARGUMENT',
            `Metadata field(s) [${fields.join(', ')}] not supported: ask for signature_def`,
          );
        }
        const { slot, version } = target(request.model_spec);
        const signature = signatureDef(version);
        return {
          model_spec: {
            name: slot.model,
            version: { value: String(versionNumber(version.version)) },
            signature_name: '',
          },
          metadata: {
            signature_def: {
              '@type': 'type.googleapis.com/tensorflow.serving.SignatureDefMap',
              signature_def: {
                serving_default: {
                  ...signature,
                  inputs: Object.fromEntries(
                    Object.entries(signature.inputs).map(([k, v]) => [k, tensorInfo(v)]),
                  ),
                  outputs: Object.fromEntries(
                    Object.entries(signature.outputs).map(([k, v]) => [k, tensorInfo(v)]),
                  ),
                },
              },
            },
          },
        };
      },
    ),
  });

  server.addService(modelService, {
    GetModelStatus: unary('GetModelStatus', async (request: { model_spec?: ModelSpecMessage }) => {
      const name = request.model_spec?.name ?? '';
      const slot = slots.get(name);
      if (slot === undefined) {
        throw new CallError('NOT_FOUND', `Could not find any versions of model ${name}`);
      }
      const selector = selectorOf(request.model_spec);
      let wanted: string | undefined = selector.version;
      if (selector.label !== undefined) {
        const v = slot.labels.get(selector.label);
        if (v === undefined) {
          throw new CallError(
            'INVALID_ARGUMENT',
            `Unrecognized servable version label: ${selector.label}`,
          );
        }
        wanted = String(versionNumber(v));
      }
      const statuses = modelStatus(slot).model_version_status.filter(
        (s) => wanted === undefined || s.version === String(Number(wanted.replace(/^v/, ''))),
      );
      if (statuses.length === 0) {
        throw new CallError('NOT_FOUND', `Could not find version ${wanted} of model ${name}`);
      }
      return {
        model_version_status: statuses.map((s) => ({
          version: s.version,
          state: s.state,
          status: { error_code: s.status.error_code, error_message: s.status.error_message },
        })),
      };
    }),
  });

  return {
    listen(port, host) {
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(
          `${host}:${port}`,
          grpc.ServerCredentials.createInsecure(),
          (error, bound) => {
            if (error) {
              reject(
                new InfraError(
                  /address already in use|EADDRINUSE|No address added/i.test(error.message)
                    ? `cannot listen for gRPC on ${host}:${port}: the port is already in use (another agp serve or TF Serving?); choose another with --grpc-port`
                    : `cannot listen for gRPC on ${host}:${port}: ${error.message}`,
                  { retriable: false, cause: error },
                ),
              );
              return;
            }
            resolve(bound);
          },
        );
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 5000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

/** A TensorInfo of the REST metadata (sizes as text) as the proto message. */
function tensorInfo(info: {
  dtype: string;
  tensor_shape: { dim: { size: string; name: string }[]; unknown_rank: boolean };
  name: string;
}): object {
  return {
    name: info.name,
    dtype: info.dtype,
    tensor_shape: { dim: info.tensor_shape.dim.map((d) => ({ size: d.size })) },
  };
}
