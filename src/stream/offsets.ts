/**
 * Offset bookkeeping for exactly-once training. A position is the NEXT offset to consume in a
 * partition (Kafka's committed-offset convention): a checkpoint that stores position p has trained
 * every event of that partition below p and none at or above it.
 */

/** Next offset to consume per topic and partition: `{ [topic]: { [partition]: nextOffset } }`. */
export type TopicOffsets = Record<string, Record<string, number>>;

/** Mutable per-partition positions of a running consumer. */
export interface OffsetTracker {
  /**
   * Records that the message at `offset` was consumed. Returns false (and changes nothing) when
   * the offset is below the current position: a redelivery of a message already accounted for.
   * Offsets may jump forward (compacted topics, transaction markers).
   */
  advance(topic: string, partition: number, offset: number): boolean;
  /** The next offset to consume, or undefined when the partition was never seen. */
  position(topic: string, partition: number): number | undefined;
  /** Sets a position outright (a seek). */
  set(topic: string, partition: number, nextOffset: number): void;
  /** A deep copy of every position, safe to hand to a publish. */
  snapshot(): TopicOffsets;
}

/** Parses a Kafka offset string as a safe integer; kafkajs gives offsets as strings. */
export function parseOffset(offset: string): number {
  const n = Number(offset);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid Kafka offset '${offset}'`);
  return n;
}

/** Deep copy of offsets. */
export function cloneOffsets(offsets: TopicOffsets): TopicOffsets {
  const out: TopicOffsets = {};
  for (const [topic, parts] of Object.entries(offsets)) out[topic] = { ...parts };
  return out;
}

/** Creates a tracker starting at `start` (typically a checkpoint's offsets). */
export function createOffsetTracker(start: TopicOffsets = {}): OffsetTracker {
  const positions = cloneOffsets(start);
  const partitionsOf = (topic: string): Record<string, number> => (positions[topic] ??= {});
  return {
    advance(topic, partition, offset) {
      const parts = partitionsOf(topic);
      const current = parts[partition];
      if (current !== undefined && offset < current) return false;
      parts[partition] = offset + 1;
      return true;
    },
    position: (topic, partition) => positions[topic]?.[partition],
    set(topic, partition, nextOffset) {
      partitionsOf(topic)[partition] = nextOffset;
    },
    snapshot: () => cloneOffsets(positions),
  };
}

/**
 * Events between two offset maps, summed over partitions: `to - from`, where a partition missing
 * from `from` counts from `low[topic][partition]` (the log start) or 0.
 */
export function countBetween(from: TopicOffsets, to: TopicOffsets, low: TopicOffsets = {}): number {
  let total = 0;
  for (const [topic, parts] of Object.entries(to)) {
    for (const [partition, next] of Object.entries(parts)) {
      const start = from[topic]?.[partition] ?? low[topic]?.[partition] ?? 0;
      total += Math.max(0, next - start);
    }
  }
  return total;
}

/**
 * Consumer lag: for every partition with a high watermark, `high - position`, where a partition
 * not yet consumed counts from its low watermark. Returns the total and the per-partition figures.
 */
export function computeLag(
  high: TopicOffsets,
  positions: TopicOffsets,
  low: TopicOffsets = {},
): { total: number; byPartition: TopicOffsets } {
  const byPartition: TopicOffsets = {};
  let total = 0;
  for (const [topic, parts] of Object.entries(high)) {
    const out: Record<string, number> = (byPartition[topic] = {});
    for (const [partition, hw] of Object.entries(parts)) {
      const pos = positions[topic]?.[partition] ?? low[topic]?.[partition] ?? 0;
      const lag = Math.max(0, hw - pos);
      out[partition] = lag;
      total += lag;
    }
  }
  return { total, byPartition };
}
