import type { Trainer } from '../model/trainer';
import { copyTrainerState, embeddingBytes, snapshotTrainer } from '../model/trainer-snapshot';

/**
 * In-memory copies of the versions a recurring window just published, by version. The publish
 * gate scores the held-back slice with the served parent, and the watch with the version that
 * parent replaced: both are versions this window (or the model's previous window on this
 * worker) published moments ago, so instead of loading them back from the registry (fetch,
 * checksums, checkpoint read, a new session: ~110 ms a publish at the reference model), the
 * window keeps a copy of the trainer taken when each was published — the exact state its
 * checkpoint stores, so the scores are the same to the last bit.
 *
 * At most `limit` copies (the parent and its parent), the oldest recycled for the next one
 * (its buffers reused); none when a copy would exceed `maxBytes` (a large model falls back to
 * the registry rather than holding several copies of its tables).
 */
export class VersionSnapshots {
  private readonly entries = new Map<string, Trainer>();

  /**
   * @param limit copies kept. @default 2 (the gate's parent and the watch's)
   * @param maxBytes largest embedding tables copied. @default 1 GiB
   */
  constructor(
    private readonly limit = 2,
    private readonly maxBytes = 2 ** 30,
  ) {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`version snapshot limit must be a non-negative integer, got ${limit}`);
    }
  }

  /** The copy of `version`, if kept (still owned by this pool). */
  get(version: string): Trainer | undefined {
    return this.entries.get(version);
  }

  /**
   * Records `trainer`'s state as `version`'s (call it when the trainer holds exactly what the
   * version's checkpoint stores). Returns false when the model is too large to copy.
   */
  take(version: string, trainer: Trainer): boolean {
    if (this.limit === 0 || embeddingBytes(trainer) > this.maxBytes) return false;
    const existing = this.entries.get(version);
    if (existing !== undefined) {
      this.entries.delete(version);
      copyTrainerState(existing, trainer);
      this.entries.set(version, existing);
      return true;
    }
    let recycled: Trainer | undefined;
    if (this.entries.size >= this.limit) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Trainer];
      this.entries.delete(oldest);
      recycled = entry;
    }
    if (recycled === undefined) {
      this.entries.set(version, snapshotTrainer(trainer));
      return true;
    }
    try {
      copyTrainerState(recycled, trainer);
    } catch (error) {
      recycled.dispose();
      throw error;
    }
    this.entries.set(version, recycled);
    return true;
  }

  /** Drops every copy but those of `keep` (e.g. after a revert, whose weights are not here). */
  retain(keep: readonly string[]): void {
    for (const [version, entry] of this.entries) {
      if (!keep.includes(version)) {
        entry.dispose();
        this.entries.delete(version);
      }
    }
  }

  /** Versions kept, oldest first. */
  versions(): string[] {
    return [...this.entries.keys()];
  }

  /** Disposes every copy. */
  dispose(): void {
    for (const entry of this.entries.values()) entry.dispose();
    this.entries.clear();
  }
}
