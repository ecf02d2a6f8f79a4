import type { ClickEvent } from '../../schemas/click-event';
import { eventFields, type FeatureSpec } from '../../schemas/feature-spec';

/** A running probe. */
export interface ServedProbe {
  /** When each version first answered the probe, ms since the epoch. */
  readonly firstServed: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/** A feature record with every feature of `spec` missing: valid for any version of it. */
export function emptyRecord(spec: FeatureSpec): Pick<ClickEvent, 'dense' | 'sparse'> {
  const { dense, sparse } = eventFields(spec);
  return {
    dense: Object.fromEntries(dense.map((name) => [name, null])),
    sparse: Object.fromEntries(sparse.map((name) => [name, null])),
  };
}

/**
 * Asks the scoring service at `url` to score a fixed record every `everyMs`, as a client would,
 * and records when each version first answered: the "served" end of click → served freshness.
 */
export function startServedProbe(
  url: string,
  model: string,
  spec: FeatureSpec,
  everyMs = 100,
): ServedProbe {
  const firstServed = new Map<string, number>();
  const body = JSON.stringify({ instances: [emptyRecord(spec)] });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${url}/v1/models/${model}:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const reply = (await res.json()) as { model_version?: string };
        if (res.ok && reply.model_version !== undefined && !firstServed.has(reply.model_version)) {
          firstServed.set(reply.model_version, Date.now());
        }
      } catch {
        // The service is starting or stopping; the next probe tries again.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    firstServed,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
