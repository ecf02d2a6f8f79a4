import { ModelVersion, type Manifest } from '../../schemas/manifest';
import type { RegistryStore } from '../../src/registry/store';
import { versionNumber } from '../../src/registry';

/**
 * Every recurring manifest of some models, read from the registry every second while they
 * train. Retention keeps only a model's newest 10 versions, and a throughput-bound model
 * publishes about one a second, so the exactly-once audit and the rates need a copy taken as
 * versions appear; `missing` says whether one was deleted before it was seen.
 */
export interface ManifestLog {
  /** A model's recurring manifests seen so far, oldest first. */
  of(model: string): Manifest[];
  /** Reads the registry now (and waits for it). */
  refresh(): Promise<void>;
  /** Version numbers below the newest seen that never were (deleted before a read). */
  missing(model: string): number;
  stop(): Promise<void>;
}

export function startManifestLog(
  registry: RegistryStore,
  models: readonly string[],
  everyMs = 1_000,
): ManifestLog {
  const seen = new Map<string, Map<string, Manifest>>(models.map((m) => [m, new Map()]));
  /** The first version number of each model's recurring chain (its offline parent's + 1). */
  const first = new Map<string, number>();
  const read = async (): Promise<void> => {
    for (const model of models) {
      const mine = seen.get(model) ?? new Map<string, Manifest>();
      const [listing] = await registry.list(model).catch(() => []);
      for (const v of listing?.versions ?? []) {
        if (v.phase === 'offline' && !first.has(model)) {
          first.set(model, versionNumber(v.version) + 1);
        }
        if (v.phase !== 'recurring' || mine.has(v.version)) continue;
        const manifest = await registry.get(model, ModelVersion.parse(v.version)).catch(() => null);
        if (manifest !== null) mine.set(v.version, manifest);
      }
    }
  };
  let stopped = false;
  let reading: Promise<void> = Promise.resolve();
  const loop = async (): Promise<void> => {
    while (!stopped) {
      reading = read();
      await reading;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const running = loop();
  const of = (model: string): Manifest[] =>
    [...(seen.get(model)?.values() ?? [])].sort(
      (a, b) => versionNumber(a.version) - versionNumber(b.version),
    );
  return {
    of,
    async refresh() {
      await reading;
      reading = read();
      await reading;
    },
    missing(model) {
      const numbers = of(model).map((m) => versionNumber(m.version));
      const newest = numbers.at(-1);
      if (newest === undefined) return 0;
      return newest - (first.get(model) ?? numbers[0] ?? newest) + 1 - numbers.length;
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}
