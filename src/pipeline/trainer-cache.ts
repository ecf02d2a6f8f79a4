import type { LoadedVersion } from './model-version';
import type { VersionSnapshots } from './version-snapshots';

/**
 * What a window hands to the model's next one: its trainer (exactly `manifest.version`), and
 * what it had in memory for the publish gate, so the next window loads none of it again.
 */
export interface KeptWindow extends LoadedVersion {
  /** Copies of the versions it published last (the gate's parent and the watch's). */
  snapshots?: VersionSnapshots;
  /** The gate's offline anchor, loaded. */
  anchor?: LoadedVersion;
}

/** Frees everything a kept window holds. */
export function disposeKept(entry: KeptWindow): void {
  entry.trainer.dispose();
  entry.snapshots?.dispose();
  entry.anchor?.trainer.dispose();
}

/**
 * Trainers a worker keeps between recurring windows. A window that ends cleanly right after
 * publishing version N holds exactly N's state (weights, optimizer slots, embeddings, step
 * count: what N's checkpoint stores), and the next window of the model starts from N. Loading N
 * back from the registry (fetch, checksum, checkpoint read, a new TensorFlow session) cost
 * ~90–160 ms of a ~750 ms window at the main command's 4,000 events per version
 * (`npm run bench:fleet`'s recurring part), so the window hands its trainer over instead.
 *
 * A trainer is only ever taken for the exact version it holds; anything else is disposed. One
 * entry per model, at most `limit` models (the oldest goes first), so a worker serving many
 * models keeps a bounded number of trainers in memory between their windows.
 */
export class TrainerCache {
  private readonly entries = new Map<string, KeptWindow>();

  constructor(private readonly limit = 4) {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`trainer cache limit must be a non-negative integer, got ${limit}`);
    }
  }

  /**
   * The trainer holding `version` of `model`, removed from the cache (the caller owns it now);
   * undefined when there is none. An entry of another version is disposed: it is stale.
   */
  take(model: string, version: string): KeptWindow | undefined {
    const entry = this.entries.get(model);
    if (entry === undefined) return undefined;
    this.entries.delete(model);
    if (entry.manifest.version === version) return entry;
    disposeKept(entry);
    return undefined;
  }

  /** Keeps `loaded` (whose trainer holds exactly `loaded.manifest.version`) for the model's next window. */
  keep(model: string, loaded: KeptWindow): void {
    const previous = this.entries.get(model);
    if (previous !== undefined) disposeKept(previous);
    this.entries.delete(model);
    if (this.limit === 0) {
      disposeKept(loaded);
      return;
    }
    this.entries.set(model, loaded);
    while (this.entries.size > this.limit) {
      const [oldest, entry] = this.entries.entries().next().value as [string, KeptWindow];
      disposeKept(entry);
      this.entries.delete(oldest);
    }
  }

  /** Models with a kept trainer, oldest first. */
  models(): string[] {
    return [...this.entries.keys()];
  }

  /** Disposes every kept trainer. */
  clear(): void {
    for (const entry of this.entries.values()) disposeKept(entry);
    this.entries.clear();
  }
}
