import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { Manifest, ModelVersion } from '../../schemas/manifest';
import type { Predictor } from '../registry/store';

/**
 * A version loaded for serving: its predictor, the feature spec requests are validated and
 * encoded with, and its manifest. Requests hold a lease while they use it, so a version
 * retired by a swap is disposed only after the last request scoring on it has finished
 * (TF Serving's availability-preserving unload).
 */
export class LoadedVersion {
  readonly version: ModelVersion;
  readonly loadedAt = new Date();
  /** When it first scored a request (click → served freshness), null until then. */
  firstServedAt: Date | null = null;
  private leases = 0;
  private retired = false;
  private disposed = false;

  constructor(
    private readonly predictor: Predictor<ClickEvent>,
    readonly spec: FeatureSpec,
    readonly manifest: Manifest,
  ) {
    this.version = manifest.version;
  }

  /** Takes a lease; the caller must `release` it exactly once. */
  acquire(): void {
    if (this.disposed) throw new Error(`${this.version} is disposed`);
    this.leases++;
  }

  release(): void {
    this.leases--;
    if (this.retired && this.leases === 0) this.dispose();
  }

  /** Click probabilities for `events` (synchronous: no request can interleave with it). */
  predict(events: readonly ClickEvent[]): Float32Array {
    if (this.disposed) throw new Error(`${this.version} is disposed`);
    this.firstServedAt ??= new Date();
    return this.predictor.predict(events);
  }

  /** Unloads it: disposed as soon as no lease is held. */
  retire(): void {
    this.retired = true;
    if (this.leases === 0) this.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.predictor.dispose();
  }
}
