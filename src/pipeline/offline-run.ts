import type { Manifest } from '../../schemas/manifest';
import type { RegistryStore } from '../registry/store';
import { compareVersions } from '../registry/version';
import { formatWidths } from './model-version';

/**
 * The offline version a run already published, or null. An offline version has no parent, so
 * the registry's compare-and-set cannot refuse a second one; the run's id in the manifest
 * (`runId`) is what makes a retried run publish once. A worker SIGKILLed after its publish
 * committed, but before its heartbeat saying so reached the server (heartbeats are throttled and
 * fire-and-forget), leaves exactly this case to its retry.
 *
 * Reads the manifests of the model's offline versions, newest first (a model has few).
 */
export async function findOfflineRun(
  registry: RegistryStore,
  model: string,
  runId: string,
): Promise<Manifest | null> {
  // `list` of a model that has no version yet is an error; `latest` is null for it.
  if ((await registry.latest(model)) === null) return null;
  const [listing] = await registry.list(model);
  const offline = (listing?.versions ?? [])
    .filter((v) => v.phase === 'offline')
    .sort((a, b) => compareVersions(b.version, a.version));
  for (const { version } of offline) {
    const manifest = await registry.get(model, version);
    if (manifest.runId === runId) return manifest;
  }
  return null;
}

/**
 * One line about an offline version from its manifest alone (the run's report stayed with the
 * worker that trained it): data, rows, test NE, FLOP saving, widths.
 */
export function offlineVersionSummary(manifest: Manifest): string {
  const m = manifest.metrics;
  const data =
    manifest.dataRange.kind === 'offline'
      ? `${manifest.dataRange.source}: ${manifest.dataRange.rows} rows`
      : 'recurring data';
  const figure = (name: string, format: (n: number) => string): string =>
    m[name] === undefined ? '?' : format(m[name]);
  return (
    `${manifest.version} on ${data}, test NE ${figure('ne', (n) => n.toFixed(4))}, ` +
    `FLOP saving ${figure('flopSaving', (n) => `${(n * 100).toFixed(1)}%`)}` +
    (manifest.widths ? `, widths ${formatWidths(manifest.widths)}` : '')
  );
}
