import { Context } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import { ModelVersion } from '../schemas/manifest';
import { parseOrThrow } from '../schemas/zod-errors';
import {
  RecurringHeartbeat,
  RecurringWindowInput,
  type RecurringWindowResult,
} from '../schemas/workflow-io';
import { runRecurringWindow } from '../src/pipeline/recurring-window';
import type { RegistryStore } from '../src/registry/store';
import { toFailure } from './failure';
import { keepAlive } from './heartbeat';

/** Dependencies of the recurring activities. */
export interface RecurringDeps {
  kafka: Kafka;
  registry: RegistryStore;
}

/** Activities of the recurring phase. */
export function createRecurringActivities(deps: RecurringDeps) {
  return {
    /**
     * Trains one window from a version: resumes from its offsets, publishes `versions` versions.
     * Heartbeats progress and every published version; a retry continues from the last version
     * it published, so no event is trained twice and none is skipped.
     */
    async trainRecurringWindow(raw: RecurringWindowInput): Promise<RecurringWindowResult> {
      const ctx = Context.current();
      try {
        const input = parseOrThrow(RecurringWindowInput, raw, 'trainRecurringWindow input');
        const previous = RecurringHeartbeat.safeParse(ctx.info.heartbeatDetails);
        let beat: RecurringHeartbeat = previous.success
          ? previous.data
          : {
              lastVersion: input.fromVersion,
              versions: [],
              trained: 0,
              deadLettered: 0,
              consumed: 0,
            };
        const resumed = beat.versions.length > 0;
        const base = { ...beat };
        const remaining = input.versions - beat.versions.length;
        // A previous attempt published every version and failed before completing.
        if (remaining <= 0) return await finishedEarlier(deps.registry, input.model, beat);
        ctx.heartbeat(beat);
        const stopBeating = keepAlive(ctx, () => beat);
        const outcome = await runRecurringWindow(deps, {
          model: input.model,
          fromVersion: beat.lastVersion,
          topic: input.topic,
          groupId: input.groupId,
          eventsPerVersion: input.eventsPerVersion,
          versions: remaining,
          publishEverySeconds: input.publishEverySeconds,
          // A resumed attempt starts from its own last version's offsets.
          ...(input.startOffsets && !resumed ? { startOffsets: input.startOffsets } : {}),
          signal: ctx.cancellationSignal,
          onProgress: () => ctx.heartbeat(beat),
          onPublished: (manifest) => {
            const m = manifest.metrics;
            beat = {
              lastVersion: manifest.version,
              versions: [...beat.versions, manifest.version],
              trained: beat.trained + (m['trainedEvents'] ?? 0),
              deadLettered: beat.deadLettered + (m['deadLettered'] ?? 0),
              consumed: beat.consumed + (m['trainedEvents'] ?? 0) + (m['deadLettered'] ?? 0),
            };
            ctx.heartbeat(beat);
          },
        }).finally(stopBeating);
        // An aborted window returns what it published; the activity still reports the cancel.
        ctx.cancellationSignal.throwIfAborted();
        return {
          lastVersion: outcome.lastVersion,
          versions: [...base.versions, ...outcome.versions],
          offsets: outcome.offsets,
          consumed: base.consumed + outcome.consumed,
          trained: base.trained + outcome.trained,
          deadLettered: base.deadLettered + outcome.deadLettered,
          eventsPerSecond: outcome.eventsPerSecond,
          metrics: outcome.metrics,
          lag: outcome.lag,
          widths: outcome.widths,
        };
      } catch (error) {
        throw toFailure(error, ctx.cancellationSignal);
      }
    },
  };
}

/** The result of a window whose versions were all published by an earlier attempt. */
async function finishedEarlier(
  registry: RegistryStore,
  model: string,
  beat: RecurringHeartbeat,
): Promise<RecurringWindowResult> {
  const manifest = await registry.get(
    model,
    parseOrThrow(ModelVersion, beat.lastVersion, 'lastVersion'),
  );
  return {
    lastVersion: beat.lastVersion,
    versions: beat.versions,
    offsets: manifest.dataRange.kind === 'recurring' ? manifest.dataRange.toOffsets : {},
    consumed: beat.consumed,
    trained: beat.trained,
    deadLettered: beat.deadLettered,
    eventsPerSecond: 0,
    metrics: manifest.metrics,
    lag: 0,
    ...(manifest.widths ? { widths: manifest.widths } : {}),
  };
}

/** The recurring activities' type, for `proxyActivities`. */
export type RecurringActivities = ReturnType<typeof createRecurringActivities>;
