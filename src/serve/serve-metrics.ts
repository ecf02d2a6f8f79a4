import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Every HTTP status the inference routes answer with, so each series exists at 0 from the start
 * (a rate over a series that appears with its first error misses that error).
 */
export const ANSWERED_STATUSES = [200, 400, 404, 408, 413, 415, 500, 503] as const;

/** The gRPC methods served and the status codes they answer with (series present at 0). */
export const GRPC_METHODS = ['Predict', 'GetModelMetadata', 'GetModelStatus'] as const;
export const GRPC_CODES = [
  'OK',
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

/** The model label of a request that named no served model (or none could be read). */
export const UNKNOWN_MODEL = '(unknown)';

/**
 * The scoring service's Prometheus metrics, on the process's one registry. Labels are bounded:
 * model (the served ones, plus `(unknown)`) and status, never the version (versions arrive all
 * day); the loaded version is an info metric.
 */
export interface ServeMetrics {
  requests: Counter<'model' | 'status'>;
  requestSeconds: Histogram<'model' | 'status'>;
  rowsScored: Counter<'model'>;
  batchRows: Histogram<'model'>;
  versionAgeSeconds: Gauge<'model'>;
  swaps: Counter<'model'>;
  refused: Counter<'model'>;
  grpcRequests: Counter<'model' | 'method' | 'code'>;
  /** Counts one answered inference request (any status) and its latency. */
  observe(model: string, status: number, seconds: number): void;
}

/** What each served model is serving, read at scrape time. */
export interface ServingNow {
  model: string;
  /** The serving version id (v000042), or null before the first load. */
  version: string | null;
  /** The newest event time the serving version trained on (epoch ms), or null. */
  newestEventMs: number | null;
}

/**
 * Registers the metrics on `registry` (and prom-client's default process and Node.js metrics,
 * once per registry). Series for every served model × answered status start at 0.
 */
export function createServeMetrics(
  registry: Registry,
  models: readonly string[],
  servingNow: () => Iterable<ServingNow>,
): ServeMetrics {
  const registers = [registry];
  if (registry.getSingleMetric('process_cpu_user_seconds_total') === undefined) {
    collectDefaultMetrics({ register: registry });
  }
  const versionAgeSeconds = new Gauge({
    name: 'agp_serve_version_age_seconds',
    help: 'Now minus the newest event the serving version trained on (recurring versions only)',
    labelNames: ['model'] as const,
    registers: [],
  });
  // Filled at scrape time, together with the age gauge registered after it.
  new Gauge({
    name: 'agp_model_version_info',
    help: 'The version each model is serving (1 on the serving version; absent before a load)',
    labelNames: ['model', 'version'] as const,
    registers,
    collect() {
      this.reset();
      versionAgeSeconds.reset();
      for (const { model, version, newestEventMs } of servingNow()) {
        if (version !== null) this.set({ model, version }, 1);
        if (newestEventMs !== null) {
          versionAgeSeconds.set({ model }, (Date.now() - newestEventMs) / 1000);
        }
      }
    },
  });
  registry.registerMetric(versionAgeSeconds);
  const requests = new Counter({
    name: 'agp_serve_requests_total',
    help: 'Inference requests (predict, regress, classify) by model and HTTP status',
    labelNames: ['model', 'status'] as const,
    registers,
  });
  const requestSeconds = new Histogram({
    name: 'agp_serve_request_duration_seconds',
    help: 'Inference request latency from routing to reply',
    labelNames: ['model', 'status'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const metrics: ServeMetrics = {
    requests,
    requestSeconds,
    rowsScored: new Counter({
      name: 'agp_serve_rows_scored_total',
      help: 'Instances scored, by model',
      labelNames: ['model'] as const,
      registers,
    }),
    batchRows: new Histogram({
      name: 'agp_serve_batch_rows',
      help: 'Rows per predict call after micro-batching concurrent requests',
      labelNames: ['model'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers,
    }),
    versionAgeSeconds,
    swaps: new Counter({
      name: 'agp_serve_swaps_total',
      help: 'Times the serving version of a model changed (new version or rollback)',
      labelNames: ['model'] as const,
      registers,
    }),
    refused: new Counter({
      name: 'agp_serve_refused_versions_total',
      help: 'Versions that failed verification or loading and were not served',
      labelNames: ['model'] as const,
      registers,
    }),
    grpcRequests: new Counter({
      name: 'agp_serve_grpc_requests_total',
      help: 'gRPC calls (Predict, GetModelMetadata, GetModelStatus) by model, method and status code',
      labelNames: ['model', 'method', 'code'] as const,
      registers,
    }),
    observe(model, status, seconds) {
      const labels = { model, status: String(status) };
      requests.inc(labels);
      requestSeconds.observe(labels, seconds);
    },
  };
  for (const model of [...models, UNKNOWN_MODEL]) {
    for (const status of ANSWERED_STATUSES) {
      requests.inc({ model, status: String(status) }, 0);
      requestSeconds.zero({ model, status: String(status) });
    }
    metrics.rowsScored.inc({ model }, 0);
    for (const method of GRPC_METHODS) {
      for (const code of GRPC_CODES) metrics.grpcRequests.inc({ model, method, code }, 0);
    }
    if (model === UNKNOWN_MODEL) continue;
    metrics.swaps.inc({ model }, 0);
    metrics.refused.inc({ model }, 0);
  }
  return metrics;
}
