import type { ClickEvent } from '../../schemas/click-event';
import type { ModelVersion } from '../../schemas/manifest';
import { featureSpecOfManifest } from '../pipeline/feature-spec-of';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { ModelLoader, Predictor, RegistryStore } from '../registry/store';
import { versionNumber } from '../registry/version';
import { LoadedVersion } from './loaded-version';
import { emptyRecord } from './served-probe';
import type { ServeMetrics } from './serve-metrics';
import { describePolicy, labelVersions, targetVersion, type VersionPolicy } from './version-policy';
import { ConfigError } from '../errors';
import { fallbackCandidates } from './fallback-candidates';

/**
 * Scores one event with every feature missing, so the first request does not pay for building
 * the backend's kernels or graph. Best effort: a spec whose derived features need a value is
 * simply not warmed.
 */
function warmUp(predictor: Predictor<ClickEvent>, spec: FeatureSpec): void {
  const event: ClickEvent = {
    v: 1,
    eventId: 'warm-up',
    eventTime: Date.now(),
    label: 0,
    ...emptyRecord(spec),
  };
  try {
    predictor.predict([event]);
  } catch {
    // Not warmed; the first request pays instead.
  }
}

/** Options of {@link ModelSlot}. */
export interface ModelSlotOptions {
  store: RegistryStore;
  model: string;
  policy: VersionPolicy;
  loader: ModelLoader<ClickEvent>;
  metrics: ServeMetrics;
  /** How long a replaced version stays loaded (a rollback to it is instant). @default 60000 */
  graceMs?: number;
  log?: (line: string) => void;
  /** Told every version the slot starts serving (a swap or a rollback), e.g. to export it. */
  onServing?: (version: ModelVersion) => void;
}

/** A version that failed verification or loading: never retried (versions are immutable). */
export interface RefusedVersion {
  version: ModelVersion;
  reason: string;
  /** TF Serving's error code: NOT_FOUND (no such version, e.g. deleted by retention) or DATA_LOSS. */
  code: 'NOT_FOUND' | 'DATA_LOSS';
  at: Date;
}

/** Why the slot serves a version other than the one its policy asks for. */
export interface Fallback {
  /** What the policy asks for; null when the registry could not say (e.g. `latest` unreadable). */
  wanted: ModelVersion | null;
  /** Why it is not served (the refusal's reason). */
  reason: string;
}

/**
 * One served model: the version serving it, the one it replaced (kept loaded for a grace
 * period), the one loading, and the ones refused. `refresh()` asks the registry what the policy
 * wants now and, when that changed, fetches, verifies and loads it in the background, then swaps
 * it in with one assignment: a request that already took the old version finishes on it, and
 * no request waits for a load.
 */
export class ModelSlot {
  readonly model: string;
  readonly policy: VersionPolicy;
  private serving: LoadedVersion | null = null;
  private previous: LoadedVersion | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private loadingVersion: ModelVersion | null = null;
  private readonly refusedVersions = new Map<ModelVersion, RefusedVersion>();
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** The last error asking the registry for the target (cleared by a successful ask). */
  lastError: string | null = null;
  /** Set while the serving version is not the policy's target (it was refused); else null. */
  fallback: Fallback | null = null;
  /** TF Serving's version labels (`stable`, `canary`) as of the last registry read. */
  labels: ReadonlyMap<string, ModelVersion> = new Map();

  constructor(private readonly options: ModelSlotOptions) {
    this.model = options.model;
    this.policy = options.policy;
  }

  /** The version new requests go to, or null before the first load. */
  get current(): LoadedVersion | null {
    return this.serving;
  }

  /** Every loaded version, serving one first. */
  get loaded(): LoadedVersion[] {
    return [this.serving, this.previous].filter((v): v is LoadedVersion => v !== null);
  }

  get loading(): ModelVersion | null {
    return this.loadingVersion;
  }

  get refused(): RefusedVersion[] {
    return [...this.refusedVersions.values()];
  }

  /** A loaded version by id (TF Serving answers for any loaded version), or null. */
  find(version: ModelVersion): LoadedVersion | null {
    return this.loaded.find((v) => v.version === version) ?? null;
  }

  /**
   * Brings the slot in line with the registry. Calls that arrive while one runs are coalesced
   * into one more pass after it, so announcements and polls never load a version twice.
   */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && !this.stopped);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(
      `agp serve: ${this.model}: ${line}`,
    );
  }

  private async step(): Promise<void> {
    if (this.stopped) return;
    let target: ModelVersion | null;
    try {
      target = await targetVersion(this.options.store, this.model, this.policy);
      this.labels = await labelVersions(this.options.store, this.model);
      this.lastError = null;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) this.log(`cannot read the registry: ${message}`);
      this.lastError = message;
      // A replica with nothing to serve still serves the newest good version it can find.
      if (this.serving === null) {
        await this.fallBack(
          null,
          `cannot read what ${describePolicy(this.policy)} names: ${message}`,
        );
      }
      return;
    }
    if (target === null) return;
    if (target === this.serving?.version) {
      this.fallback = null;
      return;
    }
    if (target === this.previous?.version) {
      // A rollback within the grace period: the replaced version is still loaded.
      this.swapIn(this.previous);
      this.fallback = null;
      return;
    }
    if (!this.refusedVersions.has(target)) {
      const loaded = await this.load(target);
      if (this.stopped) {
        loaded?.retire();
        return;
      }
      if (loaded !== null) {
        this.swapIn(loaded);
        this.fallback = null;
        return;
      }
    }
    const refusal = this.refusedVersions.get(target);
    const reason = refusal?.reason ?? 'refused';
    if (this.serving !== null) {
      // Keep serving what is loaded (never a gap); status says what was wanted and why not.
      this.fallback = { wanted: target, reason };
      return;
    }
    await this.fallBack(target, reason);
  }

  /**
   * Nothing is served and the target was refused: serve the newest version that verifies and
   * loads instead, so a replica whose `latest` (or pinned or promoted version) is corrupt or gone
   * still becomes ready with the last good model, saying which and why.
   */
  private async fallBack(target: ModelVersion | null, reason: string): Promise<void> {
    let candidates: ModelVersion[];
    try {
      candidates = await fallbackCandidates(
        this.options.store,
        this.model,
        this.policy,
        new Set(this.refusedVersions.keys()),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) this.log(`cannot list the registry: ${message}`);
      this.lastError = message;
      return;
    }
    for (const candidate of candidates) {
      if (this.stopped) return;
      const loaded = await this.load(candidate);
      if (loaded === null) continue;
      if (this.stopped) {
        loaded.retire();
        return;
      }
      this.fallback = { wanted: target, reason };
      this.log(
        `falling back to ${candidate}, the newest version that verifies: ${target} ${reason}`,
      );
      this.swapIn(loaded);
      return;
    }
  }

  /** Fetches (verifying every checksum) and loads a version; null when it is refused. */
  private async load(version: ModelVersion): Promise<LoadedVersion | null> {
    this.loadingVersion = version;
    try {
      const { dir, manifest } = await this.options.store.fetch(this.model, version);
      const spec = featureSpecOfManifest(manifest);
      const predictor = await this.options.loader(dir, manifest);
      warmUp(predictor, spec);
      return new LoadedVersion(predictor, spec, manifest);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const code = error instanceof ConfigError ? 'NOT_FOUND' : 'DATA_LOSS';
      this.refusedVersions.set(version, { version, reason, code, at: new Date() });
      this.options.metrics.refused.inc({ model: this.model });
      this.log(`refused ${version} (${describePolicy(this.policy)}): ${reason}`);
      return null;
    } finally {
      this.loadingVersion = null;
    }
  }

  private swapIn(next: LoadedVersion): void {
    const old = this.serving;
    if (this.previous !== null && this.previous !== next) this.previous.retire();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.serving = next;
    this.previous = old;
    if (old !== null) {
      this.options.metrics.swaps.inc({ model: this.model });
      this.graceTimer = setTimeout(() => {
        this.graceTimer = null;
        this.previous?.retire();
        this.previous = null;
      }, this.options.graceMs ?? 60_000);
      this.graceTimer.unref();
    }
    this.options.onServing?.(next.version);
    this.log(
      old === null
        ? `serving ${next.version}`
        : `serving ${next.version} (was ${old.version}${versionNumber(next.version) < versionNumber(old.version) ? ', rolled back' : ''})`,
    );
  }

  /** Stops following and disposes every loaded version once its requests have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    for (const v of this.loaded) v.retire();
    this.serving = null;
    this.previous = null;
  }
}
