import type { Kafka } from 'kafkajs';
import type { ClickEvent } from '../../schemas/click-event';
import { parseOrThrow } from '../../schemas/zod-errors';
import { ModelVersion } from '../../schemas/manifest';
import { readOffsetRanges, type OffsetRange } from '../data/windows/read-offset-ranges';
import { evaluateBinary } from '../metrics/evaluate';
import type { RegistryStore } from '../registry/store';
import { createEventDecoder, eventsToBatch } from '../stream/event-codec';
import { parseOffset } from '../stream/offsets';
import { loadTrainerFromVersion, type LoadedVersion } from './model-version';
import { finiteMetrics } from './publish-offline';

/** Options of {@link evaluateOnEvents}. */
export interface EvaluateOnEventsOptions {
  model: string;
  candidate: string;
  baseline: string;
  topic: string;
  /** Newest events to score, over all partitions. */
  events: number;
  /** Give up when no message arrives for this long, ms. @default 60000 */
  timeoutMs?: number;
}

/** Both versions' metrics on the same events. */
export interface EvaluateOnEventsResult {
  events: number;
  candidate: Record<string, number>;
  baseline: Record<string, number>;
}

/**
 * Reads about `count` of the newest messages of `topic` (the same share from every partition)
 * and returns the valid events among them, oldest first. Reads with a throw-away consumer group
 * that never commits (readOffsetRanges), so the recurring trainer's group is untouched.
 * @throws InfraError (retriable) when no message arrives for `timeoutMs`.
 */
export async function readNewestEvents(
  kafka: Kafka,
  topic: string,
  count: number,
  decode: (value: Buffer | null) => { ok: ClickEvent } | { error: string },
  timeoutMs = 60_000,
): Promise<ClickEvent[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ranges: OffsetRange[];
  try {
    const parts = await admin.fetchTopicOffsets(topic);
    const share = Math.ceil(count / Math.max(parts.length, 1));
    ranges = parts
      .map((p) => {
        const high = parseOffset(p.high);
        return {
          partition: p.partition,
          from: Math.max(parseOffset(p.low), high - share),
          to: high,
        };
      })
      .filter((r) => r.to > r.from);
  } finally {
    await admin.disconnect();
  }
  if (ranges.length === 0) return [];
  const events: ClickEvent[] = [];
  await readOffsetRanges(
    kafka,
    topic,
    ranges,
    (_partition, message) => {
      const decoded = decode(message.value);
      if ('ok' in decoded) events.push(decoded.ok);
    },
    timeoutMs,
  );
  return events.sort((a, b) => a.eventTime - b.eventTime);
}

function score(loaded: LoadedVersion, events: readonly ClickEvent[]): Record<string, number> {
  const batchSize = 4096;
  const preds = new Float32Array(events.length);
  const labels = new Float32Array(events.length);
  for (let start = 0; start < events.length; start += batchSize) {
    const batch = eventsToBatch(events.slice(start, start + batchSize), loaded.spec);
    preds.set(loaded.trainer.predict(batch), start);
    labels.set(batch.labels, start);
  }
  return finiteMetrics({ ...evaluateBinary(preds, labels) });
}

/**
 * Scores two versions of a model on the same newest events of a topic (no training), so a
 * daily retraining can decide whether its candidate is at least as good as the model serving.
 */
export async function evaluateOnEvents(
  kafka: Kafka,
  registry: RegistryStore,
  options: EvaluateOnEventsOptions,
): Promise<EvaluateOnEventsResult> {
  const candidate = await loadTrainerFromVersion(
    registry,
    options.model,
    parseOrThrow(ModelVersion, options.candidate, 'candidate'),
  );
  try {
    const baseline = await loadTrainerFromVersion(
      registry,
      options.model,
      parseOrThrow(ModelVersion, options.baseline, 'baseline'),
    );
    try {
      const events = await readNewestEvents(
        kafka,
        options.topic,
        options.events,
        createEventDecoder(candidate.spec),
        options.timeoutMs,
      );
      if (events.length === 0) return { events: 0, candidate: {}, baseline: {} };
      return {
        events: events.length,
        candidate: score(candidate, events),
        baseline: score(baseline, events),
      };
    } finally {
      baseline.trainer.dispose();
    }
  } finally {
    candidate.trainer.dispose();
  }
}
