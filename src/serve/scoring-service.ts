import { createServer } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import type { ClickEvent } from '../../schemas/click-event';
import type { ModelVersion } from '../../schemas/manifest';
import { ExportFollower } from '../export/export-follower';
import { clickModelLoader } from '../pipeline/click-predictor';
import { watchRegistry, type RegistryWatch } from '../registry/registry-watch';
import type { ModelLoader, RegistryStore } from '../registry/store';
import { createGrpcServer, type GrpcServer } from './grpc/prediction-service';
import { ModelSlot } from './model-slot';
import { createPredictBatcher } from './predict-batcher';
import { predictRoutes } from './predict-routes';
import { parseJsonBody } from './json-body';
import { UNKNOWN_MODEL, createServeMetrics } from './serve-metrics';
import { InfraError } from '../errors';
import { statusRoutes } from './status-routes';
import type { ServedModel } from './version-policy';

/** Options of {@link createScoringService}. */
export interface ScoringServiceOptions {
  store: RegistryStore;
  models: readonly ServedModel[];
  /** Announcements of new versions (`agp.registry`); without it the service only polls. */
  kafka?: Kafka;
  /** @default 'agp.registry' */
  registryTopic?: string;
  /** Registry poll, the fallback to announcements and how rollbacks are seen. @default 500 */
  pollMs?: number;
  /** How long a replaced version stays loaded. @default 60000 */
  graceMs?: number;
  /** Micro-batching window; 0 = the current event-loop turn. @default 0 */
  batchWindowMs?: number;
  /** Rows that make a batch score at once. @default 512 */
  maxBatchRows?: number;
  /** @default 1024 */
  maxInstances?: number;
  /** Largest request body (413 beyond). @default 4 MiB */
  bodyLimitBytes?: number;
  /** A request must arrive whole within this (408 after). @default 10000 */
  requestTimeoutMs?: number;
  /** @default clickModelLoader */
  loader?: ModelLoader<ClickEvent>;
  /** @default a new prom-client registry (one per process: pass the process's own) */
  metricsRegistry?: Registry;
  /** @default stderr */
  log?: (line: string) => void;
  /**
   * Keep DIR/<model>/<n>/ holding the served version as a TensorFlow SavedModel (for a TF
   * Serving beside this service); see ExportFollower.
   */
  exportDir?: string;
}

/** A running scoring service. */
export interface ScoringService {
  readonly app: FastifyInstance;
  readonly slots: ReadonlyMap<string, ModelSlot>;
  /** Listens on `port` (0 = any); returns the address. */
  listen(port: number, host?: string): Promise<string>;
  /**
   * Serves TF Serving's gRPC API (PredictionService, ModelService) on `port` (0 = any); returns
   * the bound port.
   */
  listenGrpc(port: number, host?: string): Promise<number>;
  /** Asks the registry now (what the poll does). */
  refresh(): Promise<void>;
  /** Resolves when every SavedModel export asked for so far is written (with `exportDir`). */
  exportsIdle(): Promise<void>;
  /** Stops following, closes the server (in-flight requests finish), disposes every version. */
  close(): Promise<void>;
}

/**
 * The composition root of `agp serve`: one {@link ModelSlot} per served model kept in step with
 * the registry (announcements plus a poll), the predict and status routes on fastify, the
 * metrics on one prom-client registry. Versions load in the background; `/readyz` says when
 * every model has one.
 */
export async function createScoringService(
  options: ScoringServiceOptions,
): Promise<ScoringService> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const metricsRegistry = options.metricsRegistry ?? new Registry();
  const slots = new Map<string, ModelSlot>();
  const metrics = createServeMetrics(
    metricsRegistry,
    options.models.map((m) => m.model),
    () =>
      [...slots.values()].map((slot) => {
        const current = slot.current;
        const range = current?.manifest.dataRange;
        const newest = range?.kind === 'recurring' ? range.eventTime?.max : undefined;
        return {
          model: slot.model,
          version: current?.version ?? null,
          newestEventMs: newest === undefined ? null : Date.parse(newest),
        };
      }),
  );
  const exporter =
    options.exportDir === undefined
      ? null
      : new ExportFollower(options.store, options.exportDir, log);
  for (const { model, policy } of options.models) {
    if (slots.has(model)) throw new Error(`model '${model}' is listed twice`);
    slots.set(
      model,
      new ModelSlot({
        store: options.store,
        model,
        policy,
        loader: options.loader ?? clickModelLoader,
        metrics,
        log,
        ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
        ...(exporter !== null
          ? { onServing: (version: ModelVersion) => exporter.serving(model, version) }
          : {}),
      }),
    );
  }
  const batcher = createPredictBatcher({
    windowMs: options.batchWindowMs ?? 0,
    maxRows: options.maxBatchRows ?? 512,
    onBatch: (version, rows) => metrics.batchRows.observe({ model: version.manifest.model }, rows),
  });

  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes ?? 4 * 1024 * 1024,
    // JSON.parse keeps a `__proto__` key as a plain own property (no prototype is touched); the
    // click-event schema then refuses it with its path, where fastify's default would answer
    // "not valid JSON".
    onProtoPoisoning: 'ignore',
    // Node's own guard against slow clients: a request (headers and body) must arrive within
    // the timeout, checked often enough that a stalled client is answered 408 promptly.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: requestTimeout,
          headersTimeout: Math.min(requestTimeout, 60_000),
          connectionsCheckingInterval: Math.max(50, Math.min(1000, requestTimeout / 4)),
          keepAliveTimeout: 5000,
        },
        handler,
      ),
    // Node's 408 (and a malformed request) never reaches a route: answer it in TF Serving's
    // error shape and count it, under the model its URL names when it got that far.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const status = timedOut ? 408 : 400;
      metrics.observe(UNKNOWN_MODEL, status, 0);
      if (!socket.writable) return;
      const body = JSON.stringify({
        error: timedOut
          ? `the request did not arrive whole within ${requestTimeout} ms`
          : `malformed HTTP request: ${error.message}`,
      });
      socket.end(
        `HTTP/1.1 ${status} ${timedOut ? 'Request Timeout' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });
  // TF Serving reads any body as JSON (a plain `curl -d` sends no JSON content type) and accepts
  // NaN/Infinity tokens; integers beyond 2^53 are kept exact (json-body.ts).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined);
    }
  });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) log(`agp serve: ${error.stack ?? error.message}`);
    return reply.code(status).send({ error: error.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url}` }),
  );
  await app.register(predictRoutes, {
    slots,
    batcher,
    metrics,
    ...(options.maxInstances !== undefined ? { maxInstances: options.maxInstances } : {}),
  });
  await app.register(statusRoutes, { slots, metricsRegistry });

  const refresh = async (): Promise<void> => {
    await Promise.all([...slots.values()].map((slot) => slot.refresh()));
  };
  const poll = setInterval(() => void refresh(), options.pollMs ?? 500);
  poll.unref();
  void refresh();

  let grpcServer: GrpcServer | null = null;
  const watches: RegistryWatch[] = [];
  let closing = false;
  const { kafka } = options;
  let watchesStarted: Promise<void> = Promise.resolve();
  if (kafka !== undefined) {
    // Announcements make a new version load at once; the poll is the fallback, so a broker
    // that is down at start (or later) slows discovery but never stops serving.
    watchesStarted = (async () => {
      for (const slot of slots.values()) {
        try {
          const watch = await watchRegistry(
            kafka,
            options.store,
            slot.model,
            () => slot.refresh(),
            {
              ...(options.registryTopic !== undefined ? { topic: options.registryTopic } : {}),
              onError: (error) => {
                log(`agp serve: ${slot.model}: announcement: ${error.message}`);
                void slot.refresh();
              },
            },
          );
          if (closing) await watch.stop();
          else watches.push(watch);
        } catch (error) {
          log(
            `agp serve: ${slot.model}: registry announcements unavailable (${error instanceof Error ? error.message : String(error)}); polling every ${options.pollMs ?? 500} ms`,
          );
        }
      }
    })();
  }

  return {
    app,
    slots,
    async listen(port, host = '127.0.0.1') {
      try {
        return await app.listen({ port, host });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new InfraError(
          code === 'EADDRINUSE'
            ? `cannot listen on ${host}:${port}: the port is already in use (another agp serve or TF Serving?); choose another with --port`
            : `cannot listen on ${host}:${port}: ${(error as Error).message}`,
          { retriable: false, cause: error },
        );
      }
    },
    async listenGrpc(port, host = '127.0.0.1') {
      grpcServer ??= createGrpcServer({
        slots,
        batcher,
        metrics,
        maxInstances: options.maxInstances ?? 1024,
        log,
      });
      return grpcServer.listen(port, host);
    },
    refresh,
    exportsIdle: () => exporter?.idle() ?? Promise.resolve(),
    async close() {
      closing = true;
      clearInterval(poll);
      await watchesStarted;
      await Promise.all(watches.map((w) => w.stop().catch(() => undefined)));
      await Promise.all([app.close(), grpcServer?.close()]);
      await Promise.all([...slots.values()].map((slot) => slot.stop()));
      await exporter?.idle();
    },
  };
}
