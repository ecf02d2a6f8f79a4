import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The scoring service's Prometheus metrics, on the process's one registry. Labels are low
 * cardinality: model, version (a handful loaded at a time), status class.
 */
export interface ServeMetrics {
  requests: Counter<'model' | 'version' | 'status'>;
  requestSeconds: Histogram<'model' | 'version' | 'status'>;
  rowsScored: Counter<'model' | 'version'>;
  batchRows: Histogram<'model'>;
  loadedVersion: Gauge<'model'>;
  versionAgeSeconds: Gauge<'model'>;
  swaps: Counter<'model'>;
  refused: Counter<'model'>;
}

/**
 * Registers the metrics on `registry`. `ageOf()` lists each model's serving version number and
 * the newest event time it trained on (epoch ms, or null); it is read at scrape time.
 */
export function createServeMetrics(
  registry: Registry,
  ageOf: () => Iterable<{ model: string; version: number; newestEventMs: number | null }>,
): ServeMetrics {
  const registers = [registry];
  const versionAgeSeconds = new Gauge({
    name: 'agp_serve_version_age_seconds',
    help: 'Now minus the newest event the serving version trained on (recurring versions only)',
    labelNames: ['model'] as const,
    registers: [],
  });
  // Registered first and filled at scrape time, together with the age gauge registered after it.
  const loadedVersion = new Gauge({
    name: 'agp_serve_loaded_version',
    help: 'Number of the version serving each model (v000042 → 42); absent until one is loaded',
    labelNames: ['model'] as const,
    registers,
    collect() {
      this.reset();
      versionAgeSeconds.reset();
      for (const { model, version, newestEventMs } of ageOf()) {
        this.set({ model }, version);
        if (newestEventMs !== null) {
          versionAgeSeconds.set({ model }, (Date.now() - newestEventMs) / 1000);
        }
      }
    },
  });
  registry.registerMetric(versionAgeSeconds);
  return {
    requests: new Counter({
      name: 'agp_serve_requests_total',
      help: 'Predict requests by model, scoring version and HTTP status',
      labelNames: ['model', 'version', 'status'] as const,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'agp_serve_request_duration_seconds',
      help: 'Predict request latency from routing to reply',
      labelNames: ['model', 'version', 'status'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    rowsScored: new Counter({
      name: 'agp_serve_rows_scored_total',
      help: 'Instances scored, by model and version',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    batchRows: new Histogram({
      name: 'agp_serve_batch_rows',
      help: 'Rows per predict call after micro-batching concurrent requests',
      labelNames: ['model'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers,
    }),
    loadedVersion,
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
  };
}
