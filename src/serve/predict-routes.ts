import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelSlot } from './model-slot';
import type { PredictBatcher } from './predict-batcher';
import { readExamples, readInstances } from './request-forms';
import { ERROR_STATUS, resolveServed, type ErrorCode } from './resolve-version';
import { describeIssues, scoreInstances } from './score-records';
import type { ServeMetrics } from './serve-metrics';

/** What the predict routes need. */
export interface PredictRoutesOptions {
  slots: ReadonlyMap<string, ModelSlot>;
  batcher: PredictBatcher;
  metrics: ServeMetrics;
  /** @default 1024 */
  maxInstances?: number;
}

interface InferParams {
  model: string;
  version?: string;
  label?: string;
}

/** Model names as a route parameter (schemas/manifest ModelName), ending before `:predict`. */
export const MODEL_PARAM = ':model(^[A-Za-z0-9][A-Za-z0-9._-]*)';
/** TF Serving's integer versions, or our `v000042`. */
export const VERSION_PARAM = ':version(^v?[0-9]+)';
/** A version label (`stable`, `canary`). */
export const LABEL_PARAM = ':label(^[A-Za-z0-9_-]+)';

/** Sends TF Serving's error body, `{"error": "..."}`, with the code's HTTP status. */
export function sendError(reply: FastifyReply, code: ErrorCode, error: string): FastifyReply {
  return reply.code(ERROR_STATUS[code]).send({ error });
}

/**
 * `POST /v1/models/{model}[/versions/{v}|/labels/{l}]:predict` and `:regress` (`:classify`
 * answers that the signature is a predict/regress one), in TF Serving's REST shape: rows
 * (`instances` → `predictions`) or columns (`inputs` → `outputs`); regress `examples` →
 * `result`.
 */
export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app, options) => {
  const { slots, batcher, metrics } = options;
  const maxInstances = options.maxInstances ?? 1024;

  const handler =
    (method: 'predict' | 'regress' | 'classify') =>
    async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply) => {
      const { model, version, label } = request.params;
      const resolved = resolveServed(slots, model, {
        ...(version !== undefined ? { version } : {}),
        ...(label !== undefined ? { label } : {}),
      });
      if (!resolved.ok) return sendError(reply, resolved.code, resolved.error);
      if (method === 'classify') {
        return sendError(
          reply,
          'INVALID_ARGUMENT',
          `model '${model}' has no classification signature: its signature serving_default is tensorflow/serving/predict (a click probability); use :predict or :regress`,
        );
      }
      const target = resolved.version;
      // The lease is taken before the first await: a swap from here on retires the version only
      // after this request has been scored on it.
      target.acquire();
      try {
        const scored = await scoreInstances(
          target,
          (names) =>
            method === 'regress'
              ? readExamples(request.body, names, maxInstances)
              : readInstances(request.body, names, maxInstances),
          batcher,
        );
        if ('issues' in scored) {
          // TF Serving's `error`, plus each issue with its path for a program to act on.
          return reply
            .code(400)
            .send({ error: describeIssues(scored.issues), issues: scored.issues });
        }
        const values = Array.from(scored.predictions);
        metrics.rowsScored.inc({ model }, values.length);
        if (method === 'regress') return reply.send({ result: values });
        return reply.send(
          scored.form === 'row'
            ? { predictions: values, model_version: target.version }
            : { outputs: values, model_version: target.version },
        );
      } finally {
        target.release();
      }
    };

  const onResponse = async (
    request: FastifyRequest<{ Params: InferParams }>,
    reply: FastifyReply,
  ): Promise<void> => {
    // A client can name any model; only served ones become label values (bounded series).
    const model = slots.has(request.params.model) ? request.params.model : '(unknown)';
    metrics.observe(model, reply.statusCode, reply.elapsedTime / 1000);
  };

  for (const method of ['predict', 'regress', 'classify'] as const) {
    for (const prefix of [
      `/v1/models/${MODEL_PARAM}`,
      `/v1/models/${MODEL_PARAM}/versions/${VERSION_PARAM}`,
      `/v1/models/${MODEL_PARAM}/labels/${LABEL_PARAM}`,
    ]) {
      app.post(`${prefix}::${method}`, { onResponse }, handler(method));
    }
  }
};
