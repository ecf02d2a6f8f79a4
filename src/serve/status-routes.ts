import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { LoadedVersion } from './loaded-version';
import type { ModelSlot } from './model-slot';
import { describePolicy, parseVersionText } from './version-policy';
import { versionNumber } from '../registry/version';
import { LABEL_PARAM, MODEL_PARAM, VERSION_PARAM, sendError } from './predict-routes';
import { resolveServed } from './resolve-version';
import { modelMetadata } from './signature-metadata';

/** What the status routes need. */
export interface StatusRoutesOptions {
  slots: ReadonlyMap<string, ModelSlot>;
  metricsRegistry: Registry;
}

/** One entry of TF Serving's `model_version_status`, plus the manifest's headline under `agp`. */
interface VersionStatus {
  version: string;
  state: 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';
  status: { error_code: string; error_message: string };
  agp: Record<string, unknown>;
}

function loadedStatus(slot: ModelSlot, loaded: LoadedVersion): VersionStatus {
  const m = loaded.manifest;
  return {
    version: String(versionNumber(loaded.version)),
    state: 'AVAILABLE',
    status: { error_code: 'OK', error_message: '' },
    agp: {
      version: loaded.version,
      serving: slot.current === loaded,
      parent: m.parent,
      phase: m.phase,
      createdAt: m.createdAt,
      ne: m.metrics['ne'] ?? null,
      dataRange: m.dataRange,
      loadedAt: loaded.loadedAt.toISOString(),
      firstServedAt: loaded.firstServedAt?.toISOString() ?? null,
    },
  };
}

/** What a model is serving and why, for operators (`agp` key of the status; `/readyz`). */
export function servingSummary(slot: ModelSlot): {
  model: string;
  policy: string;
  serving: string | null;
  labels: Record<string, string>;
  fallback: { wanted: string | null; reason: string } | null;
} {
  return {
    model: slot.model,
    policy: describePolicy(slot.policy),
    serving: slot.current?.version ?? null,
    labels: Object.fromEntries(slot.labels),
    fallback: slot.fallback,
  };
}

/** Every version the slot knows: loaded (serving first), loading, refused. */
export function modelStatus(slot: ModelSlot): {
  model_version_status: VersionStatus[];
  policy: string;
  agp: ReturnType<typeof servingSummary>;
} {
  const statuses = slot.loaded.map((v) => loadedStatus(slot, v));
  if (slot.loading !== null) {
    statuses.push({
      version: String(versionNumber(slot.loading)),
      state: 'LOADING',
      status: { error_code: 'OK', error_message: '' },
      agp: { version: slot.loading },
    });
  }
  for (const refused of slot.refused) {
    statuses.push({
      version: String(versionNumber(refused.version)),
      state: 'END',
      status: { error_code: refused.code, error_message: refused.reason },
      agp: { version: refused.version, refusedAt: refused.at.toISOString() },
    });
  }
  return {
    model_version_status: statuses,
    policy: describePolicy(slot.policy),
    agp: servingSummary(slot),
  };
}

/**
 * `GET /v1/models/{model}[/versions/{v}]` (TF Serving's model status), `GET /healthz`,
 * `GET /readyz` (every served model has a verified version loaded) and `GET /metrics`.
 */
export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, options) => {
  const { slots, metricsRegistry } = options;

  app.get<{ Params: { model: string } }>(`/v1/models/${MODEL_PARAM}`, async (request, reply) => {
    const slot = slots.get(request.params.model);
    if (slot === undefined) {
      return sendError(reply, 'NOT_FOUND', `model '${request.params.model}' is not served here`);
    }
    return modelStatus(slot);
  });

  const versionStatus = async (
    request: FastifyRequest<{ Params: { model: string; version?: string; label?: string } }>,
    reply: FastifyReply,
  ) => {
    const { model, label } = request.params;
    const slot = slots.get(model);
    let versionText = request.params.version;
    if (label !== undefined) versionText = slot?.labels.get(label);
    const version = versionText === undefined ? null : parseVersionText(versionText);
    const all = slot === undefined ? [] : modelStatus(slot).model_version_status;
    const found = version === null ? [] : all.filter((s) => s.agp['version'] === version);
    if (found.length === 0) {
      return sendError(
        reply,
        'NOT_FOUND',
        label !== undefined
          ? `label ${label} of model '${model}' names no version known here`
          : `version ${request.params.version} of model '${model}' is not known here`,
      );
    }
    return { model_version_status: found };
  };
  app.get(`/v1/models/${MODEL_PARAM}/versions/${VERSION_PARAM}`, versionStatus);
  app.get(`/v1/models/${MODEL_PARAM}/labels/${LABEL_PARAM}`, versionStatus);

  const metadata = async (
    request: FastifyRequest<{ Params: { model: string; version?: string; label?: string } }>,
    reply: FastifyReply,
  ) => {
    const { model, version, label } = request.params;
    const resolved = resolveServed(slots, model, {
      ...(version !== undefined ? { version } : {}),
      ...(label !== undefined ? { label } : {}),
    });
    if (!resolved.ok) return sendError(reply, resolved.code, resolved.error);
    return modelMetadata(model, resolved.version);
  };
  app.get(`/v1/models/${MODEL_PARAM}/metadata`, metadata);
  app.get(`/v1/models/${MODEL_PARAM}/versions/${VERSION_PARAM}/metadata`, metadata);
  app.get(`/v1/models/${MODEL_PARAM}/labels/${LABEL_PARAM}/metadata`, metadata);

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const models = [...slots.values()].map(servingSummary);
    const waiting = models.filter((m) => m.serving === null).map((m) => m.model);
    // Ready with a fallback version is still ready: the service answers with the newest good
    // version; `models[].fallback` says which version was wanted and why it is not served.
    if (waiting.length > 0) {
      return reply.code(503).send({ ready: false, waiting, models });
    }
    return { ready: true, models };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
};
