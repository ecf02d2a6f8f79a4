import type { Admin } from 'kafkajs';
import { InfraError } from '../errors';
import { parseOffset, type TopicOffsets } from './offsets';

/**
 * Where a recurring window starts on each partition: checkpoint offsets as numbers, the topic's
 * watermarks, and the start position of every partition.
 */

/** Offsets as a checkpoint or manifest stores them (numbers or decimal strings). */
export type OffsetsInput = Record<string, Record<string, number | string>>;

/** Converts checkpoint offsets to numbers, naming the bad entry. */
export function normalizeOffsets(input: OffsetsInput): TopicOffsets {
  const out: TopicOffsets = {};
  for (const [topic, parts] of Object.entries(input)) {
    const t: Record<string, number> = (out[topic] = {});
    for (const [partition, offset] of Object.entries(parts)) {
      t[partition] = parseOffset(String(offset));
    }
  }
  return out;
}

/** Low and high watermarks of every partition of `topic`. */
export async function watermarks(
  admin: Admin,
  topic: string,
): Promise<{ low: TopicOffsets; high: TopicOffsets }> {
  let parts;
  try {
    parts = await admin.fetchTopicOffsets(topic);
  } catch (error) {
    throw new InfraError(
      `cannot read the offsets of topic '${topic}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const low: Record<string, number> = {};
  const high: Record<string, number> = {};
  for (const p of parts) {
    low[p.partition] = parseOffset(p.low);
    high[p.partition] = parseOffset(p.high);
  }
  return { low: { [topic]: low }, high: { [topic]: high } };
}

/**
 * The position of every partition at the start: the checkpoint's offset, else the log start (or
 * end). A checkpoint offset below the log start (retention deleted events) starts at the log start.
 */
export function startPositions(
  topic: string,
  start: TopicOffsets,
  marks: { low: TopicOffsets; high: TopicOffsets },
  startFrom: 'earliest' | 'latest',
): TopicOffsets {
  const positions: Record<string, number> = {};
  for (const [partition, low] of Object.entries(marks.low[topic] ?? {})) {
    const fallback = startFrom === 'latest' ? (marks.high[topic]?.[partition] ?? low) : low;
    positions[partition] = Math.max(start[topic]?.[partition] ?? fallback, low);
  }
  return { ...start, [topic]: positions };
}
