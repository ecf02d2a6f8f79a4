import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { LoadedVersion } from './loaded-version';
import type { ModelSlot } from './model-slot';
import { describePolicy, parseVersionText } from './version-policy';
import { versionNumber } from '../registry/version';

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

/** Every version the slot knows: loaded (serving first), loading, refused. */
export function modelStatus(slot: ModelSlot): {
  model_version_status: VersionStatus[];
  policy: string;
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
      status: { error_code: 'DATA_LOSS', error_message: refused.reason },
      agp: { version: refused.version, refusedAt: refused.at.toISOString() },
    });
  }
  return { model_version_status: statuses, policy: describePolicy(slot.policy) };
}

/**
 * `GET /v1/models/{model}[/versions/{v}]` (TF Serving's model status), `GET /healthz`,
 * `GET /readyz` (every served model has a verified version loaded) and `GET /metrics`.
 */
export const statusRoutes: FastifyPluginAsync<StatusRoutesOptions> = async (app, options) => {
  const { slots, metricsRegistry } = options;

  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request, reply) => {
    const slot = slots.get(request.params.model);
    if (slot === undefined) {
      return reply.code(404).send({ error: `model '${request.params.model}' is not served here` });
    }
    return modelStatus(slot);
  });

  app.get<{ Params: { model: string; version: string } }>(
    '/v1/models/:model/versions/:version',
    async (request, reply) => {
      const slot = slots.get(request.params.model);
      const version = parseVersionText(request.params.version);
      const all = slot === undefined ? [] : modelStatus(slot).model_version_status;
      const found = version === null ? [] : all.filter((s) => s.agp['version'] === version);
      if (found.length === 0) {
        return reply.code(404).send({
          error: `version ${request.params.version} of model '${request.params.model}' is not known here`,
        });
      }
      return { model_version_status: found };
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const waiting = [...slots.values()].filter((s) => s.current === null).map((s) => s.model);
    if (waiting.length > 0) {
      return reply.code(503).send({ ready: false, waiting });
    }
    return { ready: true };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
};
