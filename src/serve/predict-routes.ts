import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { LoadedVersion } from './loaded-version';
import type { ModelSlot } from './model-slot';
import type { PredictBatcher } from './predict-batcher';
import { eventsOfInstances, predictRequestSchema } from './predict-request';
import type { ServeMetrics } from './serve-metrics';
import { parseVersionText } from './version-policy';

/** What the predict routes need. */
export interface PredictRoutesOptions {
  slots: ReadonlyMap<string, ModelSlot>;
  batcher: PredictBatcher;
  metrics: ServeMetrics;
  /** @default 1024 */
  maxInstances?: number;
}

interface PredictParams {
  model: string;
  version?: string;
}

/** The version a request scored on, for the response hook's metric labels. */
const scoredBy = new WeakMap<FastifyRequest, string>();

/** Model names as a route parameter (schemas/manifest ModelName), ending before `:predict`. */
const MODEL = ':model(^[A-Za-z0-9][A-Za-z0-9._-]*)';
/** TF Serving's integer versions, or our `v000042`. */
const VERSION = ':version(^v?[0-9]+)';

/**
 * `POST /v1/models/{model}:predict` and `POST /v1/models/{model}/versions/{v}:predict`, in TF
 * Serving's REST shape: `{"instances": [...]}` → `{"predictions": [...], "model_version": ...}`.
 */
export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app, options) => {
  const { slots, batcher, metrics } = options;
  const requestSchema = predictRequestSchema(options.maxInstances ?? 1024);

  const fail = (reply: FastifyReply, status: number, error: string, extra: object = {}) =>
    reply.code(status).send({ error, ...extra });

  const handler = async (
    request: FastifyRequest<{ Params: PredictParams }>,
    reply: FastifyReply,
  ): Promise<unknown> => {
    const { model, version: versionText } = request.params;
    const slot = slots.get(model);
    if (slot === undefined) {
      return fail(
        reply,
        404,
        `model '${model}' is not served here (served: ${[...slots.keys()].join(', ')})`,
      );
    }
    let target: LoadedVersion | null;
    if (versionText !== undefined) {
      const version = parseVersionText(versionText);
      target = version === null ? null : slot.find(version);
      if (target === null) {
        const loaded = slot.loaded.map((v) => v.version).join(', ') || 'none';
        return fail(
          reply,
          404,
          `version ${versionText} of model '${model}' is not loaded (loaded: ${loaded})`,
        );
      }
    } else {
      target = slot.current;
      if (target === null) {
        return fail(reply, 503, `model '${model}' has no version loaded yet`);
      }
    }
    const body = requestSchema.safeParse(request.body);
    if (!body.success) {
      const issues = body.error.issues.map((i) => ({
        path: i.path.length ? i.path.map(String).join('.') : '(body)',
        message: i.message,
      }));
      return fail(reply, 400, issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
    }
    // The lease is taken before the first await: a swap from here on retires the version only
    // after this request has been scored on it.
    target.acquire();
    scoredBy.set(request, target.version);
    try {
      const encoded = eventsOfInstances(body.data.instances, target.spec);
      if ('issues' in encoded) {
        const { issues } = encoded;
        return fail(reply, 400, issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
          issues,
        });
      }
      const predictions = await batcher.score(target, encoded.events);
      metrics.rowsScored.inc({ model, version: target.version }, predictions.length);
      return reply.send({ predictions: Array.from(predictions), model_version: target.version });
    } finally {
      target.release();
    }
  };

  const onResponse = async (
    request: FastifyRequest<{ Params: PredictParams }>,
    reply: FastifyReply,
  ): Promise<void> => {
    const served = slots.has(request.params.model);
    const labels = {
      // A client can name any model; only served ones become label values.
      model: served ? request.params.model : '(unknown)',
      version: scoredBy.get(request) ?? 'none',
      status: String(reply.statusCode),
    };
    metrics.requests.inc(labels);
    metrics.requestSeconds.observe(labels, reply.elapsedTime / 1000);
  };

  app.post(`/v1/models/${MODEL}::predict`, { onResponse }, handler);
  app.post(`/v1/models/${MODEL}/versions/${VERSION}::predict`, { onResponse }, handler);
};
