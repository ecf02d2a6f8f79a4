/**
 * Fair consumption of a topic's partitions. kafkajs hands a fetch's batches over in partition
 * order, up to `maxBytesPerPartition` each, and a window stops once it has its versions: with a
 * backlog on one partition, the partitions ahead of it in the order filled the versions and it
 * stayed thousands of offsets behind its end for several versions while the others advanced
 * (issue 26). The rule here: a partition whose lag (end − position) is more than `maxSpread`
 * events below the most lagging partition's is paused, and resumed once it is within
 * `resumeSpread`; so the most lagging partition is always consumed, and no partition is more
 * than `maxSpread` (plus one message) behind the others for longer than it takes to catch up.
 *
 * A paused partition must not stall training when the most lagging one cannot be read (its
 * leader is down): if that one makes no progress for `stallMs`, every partition is resumed until
 * it moves again.
 *
 * Pure bookkeeping over numbers; the Kafka consumer applies the pauses (recurring-trainer.ts).
 */

/** Settings of {@link createPartitionFairness}. */
export interface FairnessOptions {
  /** A partition whose lag is this many events below the most lagging one's is paused. */
  maxSpread: number;
  /** A paused partition resumes once its lag is within this of the most lagging one's. @default maxSpread / 2 */
  resumeSpread?: number;
  /** Pauses are lifted while the most lagging partition makes no progress for this long, ms. @default 10_000 */
  stallMs?: number;
}

/** Partitions to pause and to resume now (changes only). */
export interface FairnessChange {
  pause: number[];
  resume: number[];
}

/** The bookkeeping of fair consumption of one topic. */
export interface PartitionFairness {
  /** The partition's end (high watermark: the next offset to be written). */
  setEnd(partition: number, end: number): void;
  /** The partition's position (the next offset to consume). */
  setPosition(partition: number, position: number): void;
  /** Recomputes which partitions are paused; returns what changed. */
  update(now?: number): FairnessChange;
  /** True while `partition` should not be consumed. */
  isPaused(partition: number): boolean;
  /** Partitions paused now, ascending. */
  paused(): number[];
  /** Lag per partition (end − position), for diagnostics. */
  lags(): Record<number, number>;
}

/** Creates the bookkeeping (nothing paused until ends and positions are known). */
export function createPartitionFairness(options: FairnessOptions): PartitionFairness {
  const maxSpread = options.maxSpread;
  const resumeSpread = options.resumeSpread ?? maxSpread / 2;
  const stallMs = options.stallMs ?? 10_000;
  if (!(maxSpread > 0) || !(resumeSpread >= 0) || resumeSpread > maxSpread) {
    throw new RangeError(
      `fair partitions: need maxSpread > 0 and 0 ≤ resumeSpread ≤ maxSpread, got ${maxSpread} and ${resumeSpread}`,
    );
  }
  const ends = new Map<number, number>();
  const positions = new Map<number, number>();
  const pausedNow = new Set<number>();
  /** The most lagging partition, its position, and since when it has not moved. */
  let leader: { partition: number; position: number; since: number } | null = null;
  /** Pauses lifted because the leader stalled; until it moves again. */
  let released = false;

  const lags = (): Map<number, number> => {
    const out = new Map<number, number>();
    for (const [partition, end] of ends) {
      const position = positions.get(partition);
      if (position !== undefined) out.set(partition, Math.max(0, end - position));
    }
    return out;
  };

  return {
    setEnd: (partition, end) => void ends.set(partition, Math.max(end, ends.get(partition) ?? 0)),
    setPosition: (partition, position) => void positions.set(partition, position),
    update(now = Date.now()) {
      const lag = lags();
      let most: number | undefined;
      for (const [partition, l] of lag) {
        if (most === undefined || l > (lag.get(most) ?? 0)) most = partition;
      }
      const wanted = new Set<number>();
      if (most !== undefined) {
        const position = positions.get(most) ?? 0;
        if (leader === null || leader.partition !== most || leader.position !== position) {
          leader = { partition: most, position, since: now };
          released = false;
        }
        if (pausedNow.size > 0 && now - leader.since >= stallMs) released = true;
        const top = lag.get(most) ?? 0;
        for (const [partition, l] of lag) {
          if (released || partition === most) continue;
          const behind = top - l;
          if (behind > maxSpread || (pausedNow.has(partition) && behind > resumeSpread)) {
            wanted.add(partition);
          }
        }
      }
      const change: FairnessChange = {
        pause: [...wanted].filter((p) => !pausedNow.has(p)).sort((a, b) => a - b),
        resume: [...pausedNow].filter((p) => !wanted.has(p)).sort((a, b) => a - b),
      };
      for (const p of change.pause) pausedNow.add(p);
      for (const p of change.resume) pausedNow.delete(p);
      return change;
    },
    isPaused: (partition) => pausedNow.has(partition),
    paused: () => [...pausedNow].sort((a, b) => a - b),
    lags: () => Object.fromEntries(lags()),
  };
}
