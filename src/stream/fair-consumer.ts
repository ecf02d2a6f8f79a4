import type { Consumer } from 'kafkajs';
import type { PartitionFairness } from './fair-partitions';
import type { TopicOffsets } from './offsets';

/** Fair consumption's bookkeeping for one window, and where partition ends are read. */
export interface FairConsumption {
  fairness: PartitionFairness;
  /** Every partition's end (high watermark) now. */
  ends: () => Promise<TopicOffsets>;
}

/**
 * Applies fair consumption's pauses to the consumer. kafkajs accepts `pause` only once the
 * consumer runs, and a rebalance may drop pauses, so they are (re)applied on every group join.
 */
export function fairPauses(
  consumer: Consumer,
  topic: string,
  fair: FairConsumption,
): {
  joined(): void;
  /** A batch of `partition` with this high watermark arrived. */
  sawEnd(partition: number, end: number): void;
  /** About to consume `offset` of `partition`: false when the partition is paused (skip it). */
  consumed(partition: number, offset: number): boolean;
  /** Reads every partition's end and re-evaluates. */
  refresh(positions: TopicOffsets): Promise<void>;
} {
  const { fairness } = fair;
  let running = false;
  const apply = (): void => {
    const change = fairness.update();
    if (!running) return;
    if (change.pause.length > 0) consumer.pause([{ topic, partitions: change.pause }]);
    if (change.resume.length > 0) consumer.resume([{ topic, partitions: change.resume }]);
  };
  return {
    joined() {
      running = true;
      fairness.update();
      const paused = fairness.paused();
      if (paused.length > 0) consumer.pause([{ topic, partitions: paused }]);
    },
    sawEnd: (partition, end) => fairness.setEnd(partition, end),
    consumed(partition, offset) {
      fairness.setPosition(partition, offset);
      apply();
      return !fairness.isPaused(partition);
    },
    async refresh(positions) {
      const ends = (await fair.ends())[topic] ?? {};
      for (const [partition, end] of Object.entries(ends)) fairness.setEnd(Number(partition), end);
      for (const [partition, position] of Object.entries(positions[topic] ?? {})) {
        fairness.setPosition(Number(partition), position);
      }
      apply();
    },
  };
}
