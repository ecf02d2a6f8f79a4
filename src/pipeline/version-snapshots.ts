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
 * At most `limit` versions' copies (the parent and its parent) plus one spare, whose buffers
 * the next copy reuses — with a publish in the background, three copies of the model at most
 * (the candidate being published, its parent and the parent's parent); none when one copy
 * would exceed `maxBytes` (a large model then publishes from the trainer itself, on the
 * training path, and its gate loads its references from the registry).
 */
export class VersionSnapshots {
  private readonly entries = new Map<string, Trainer>();
  /** Copies no version owns any more, whose buffers the next capture reuses. */
  private readonly spares: Trainer[] = [];

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
    const copy = this.capture(trainer);
    if (copy === undefined) return false;
    this.name(version, copy);
    return true;
  }

  /**
   * A copy of `trainer`'s state now, not yet a version's (a version boundary whose publish runs
   * in the background): the caller saves, scores and publishes it, then hands it back with
   * `name` (published and served) or `release`. A spare copy's buffers are reused; the kept
   * versions are not touched (the publish in flight scores with them). Undefined when the model
   * is too large to copy.
   */
  capture(trainer: Trainer): Trainer | undefined {
    if (this.limit === 0 || embeddingBytes(trainer) > this.maxBytes) return undefined;
    const spare = this.spares.pop();
    if (spare === undefined) return snapshotTrainer(trainer);
    try {
      copyTrainerState(spare, trainer);
    } catch (error) {
      spare.dispose();
      throw error;
    }
    return spare;
  }

  /** Keeps `copy` (from `capture`) as `version`'s; the oldest beyond `limit` becomes a spare. */
  name(version: string, copy: Trainer): void {
    const existing = this.entries.get(version);
    this.entries.delete(version);
    if (existing !== undefined && existing !== copy) this.release(existing);
    this.entries.set(version, copy);
    while (this.entries.size > this.limit) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Trainer];
      this.entries.delete(oldest);
      this.release(entry);
    }
  }

  /** Hands back a copy that is no version's (a held or failed publish): kept as one spare. */
  release(copy: Trainer): void {
    if (this.spares.length === 0) this.spares.push(copy);
    else copy.dispose();
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
    for (const entry of [...this.entries.values(), ...this.spares]) entry.dispose();
    this.entries.clear();
    this.spares.length = 0;
  }
}
