import { Context } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import { ModelVersion } from '../schemas/manifest';
import { parseOrThrow } from '../schemas/zod-errors';
import type { RecurringHeartbeat } from '../schemas/workflow-io';
import { RecurringWindowInput, type RecurringWindowResult } from '../schemas/workflow-io';
import { publishStagingRoot } from '../src/pipeline/publish-staging';
import { runRecurringWindow } from '../src/pipeline/recurring-window';
import { TrainerCache } from '../src/pipeline/trainer-cache';
import type { ResumePoint } from '../src/registry/lineage';
import { fallbackReason, startWindow, type ResumeFallback } from '../src/pipeline/window-start';
import type { RegistryStore } from '../src/registry/store';
import type { WindowTimings } from '../src/stream/window-timings';
import { toFailure } from './failure';
import { keepAlive } from './heartbeat';
import { confirmHeartbeat } from './heartbeat-fence';

/** Dependencies of the recurring activities. */
export interface RecurringDeps {
  kafka: Kafka;
  registry: RegistryStore;
  /** State directory: checkpoints wait for their publish under `<dataDir>/staging`. */
  dataDir: string;
}

/** Activities of the recurring phase. */
export function createRecurringActivities(deps: RecurringDeps) {
  // A window that ends cleanly hands its trainer to the model's next window on this worker.
  const trainers = new TrainerCache();
  return {
    /**
     * Trains one window from a version and publishes up to `versions` versions (a version the
     * gate holds ends the window). Every attempt, first or retry, resumes from the registry:
     * the served lineage's `latest` back to `fromVersion` (src/registry/lineage.ts), not from
     * its last heartbeat, which an outage may have lost. Each publish is fenced twice: a
     * heartbeat the server must acknowledge first (activities/heartbeat-fence.ts), and the
     * registry's compare-and-set on the lineage's head. When `latest` does not verify, the
     * window resumes from the newest version that does (src/pipeline/window-start.ts), moving
     * `latest` back with the reason in the model's history, and alerts (log and metric).
     */
    async trainRecurringWindow(raw: RecurringWindowInput): Promise<RecurringWindowResult> {
      const ctx = Context.current();
      try {
        const input = parseOrThrow(RecurringWindowInput, raw, 'trainRecurringWindow input');
        const version = (v: string, where: string) => parseOrThrow(ModelVersion, v, where);
        const { resume, loaded, fallback } = await startWindow(
          deps.registry,
          trainers,
          input.model,
          version(input.fromVersion, 'fromVersion'),
          {
            since: version(input.head ?? input.fromVersion, 'head'),
            ...(input.supersedes === undefined
              ? {}
              : { supersedes: version(input.supersedes, 'supersedes') }),
          },
        );
        // The window takes its start version from the cache (loaded once, verified once).
        trainers.keep(input.model, loaded);
        if (fallback !== null) alertFallback(ctx, input.model, fallback);
        const before = await publishedSoFar(deps.registry, input.model, resume);
        let beat: RecurringHeartbeat = {
          lastVersion: resume.version,
          versions: before.versions,
          trained: before.trained,
          deadLettered: before.deadLettered,
          consumed: before.trained + before.deadLettered,
        };
        // A previous attempt published every version (or had one held) and failed to complete.
        if (before.versions.length >= input.versions || before.held.length > 0) {
          return await finishedEarlier(deps.registry, input.model, resume, before);
        }
        ctx.heartbeat(beat);
        const stopBeating = keepAlive(ctx, () => beat);
        const startOffsets = resume.startOffsets ?? input.startOffsets;
        const outcome = await runRecurringWindow(deps, {
          model: input.model,
          fromVersion: resume.version,
          expect: resume.head,
          skipped: resume.skipped,
          topic: input.topic,
          groupId: input.groupId,
          eventsPerVersion: input.eventsPerVersion,
          versions: input.versions - before.versions.length,
          publishEverySeconds: input.publishEverySeconds,
          ...(input.exactVersions === undefined ? {} : { exactVersions: input.exactVersions }),
          ...(input.windowSeconds === undefined ? {} : { windowSeconds: input.windowSeconds }),
          workDir: publishStagingRoot(deps.dataDir),
          trainers,
          ...(startOffsets === undefined ? {} : { startOffsets }),
          ...(input.gate === undefined ? {} : { gate: input.gate }),
          ...(input.eventValidation === undefined
            ? {}
            : { eventValidation: input.eventValidation }),
          ...(input.optimizer === undefined ? {} : { recurringOptimizer: input.optimizer }),
          signal: ctx.cancellationSignal,
          beforePublish: () => confirmHeartbeat(ctx, beat),
          onProgress: () => ctx.heartbeat(beat),
          onPublished: (manifest) => {
            const m = manifest.metrics;
            beat = {
              lastVersion: manifest.gate?.held === true ? beat.lastVersion : manifest.version,
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
        ctx.log.info(
          `window ${input.model}: ${outcome.trained} events in ${outcome.versions.length} versions; ` +
            formatTimings(outcome.timings),
          { model: input.model, timings: outcome.timings },
        );
        return {
          lastVersion: outcome.lastVersion,
          versions: [...before.versions, ...outcome.versions],
          held: outcome.held,
          head: outcome.head,
          ...(outcome.reverted === undefined ? {} : { reverted: outcome.reverted }),
          offsets: outcome.offsets,
          consumed: before.trained + before.deadLettered + outcome.consumed,
          trained: before.trained + outcome.trained,
          deadLettered: before.deadLettered + outcome.deadLettered,
          eventsPerSecond: outcome.eventsPerSecond,
          metrics: outcome.metrics,
          lag: outcome.lag,
          widths: outcome.widths,
          timings: outcome.timings,
        };
      } catch (error) {
        throw toFailure(error, ctx.cancellationSignal);
      }
    },
  };
}

/** `train 21.3 s, publishWait 4.1 s, …; publish median 310 ms` (phases above 0.05 s). */
function formatTimings(t: WindowTimings): string {
  const phases = Object.entries(t.phasesMs)
    .filter(([, ms]) => ms >= 50)
    .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)} s`);
  return `${phases.join(', ')}; publish median ${t.publishMedianMs.toFixed(0)} ms, max ${t.publishMaxMs.toFixed(0)} ms`;
}

/**
 * A window resumed below `latest` because newer versions do not verify: a WARN line in the
 * worker's log and `agp_resume_fallbacks_total{model}` on the worker's metric meter.
 */
function alertFallback(ctx: Context, model: string, fallback: ResumeFallback): void {
  ctx.log.warn(
    `ALERT ${model}: resuming from ${fallback.to}, the newest version that verifies; ` +
      `${fallback.rolledBack ? `latest moved back from ${fallback.from}` : `latest was already moved back from ${fallback.from}`}. ` +
      fallbackReason(fallback),
    { model, from: fallback.from, to: fallback.to },
  );
  ctx.metricMeter
    .createCounter(
      'agp_resume_fallbacks_total',
      'windows',
      'recurring windows that resumed from an older version because newer ones do not verify',
    )
    .add(1, { model });
}

/** What earlier attempts of this window published, read from the manifests. */
async function publishedSoFar(registry: RegistryStore, model: string, resume: ResumePoint) {
  let trained = 0;
  let deadLettered = 0;
  const held: RecurringWindowResult['held'] = [];
  for (const v of resume.publishedSince) {
    const manifest = await registry.get(model, v);
    trained += manifest.metrics['trainedEvents'] ?? 0;
    deadLettered += manifest.metrics['deadLettered'] ?? 0;
    if (manifest.gate?.held === true) held.push({ version: v, reasons: manifest.gate.reasons });
  }
  return { versions: [...resume.publishedSince], trained, deadLettered, held };
}

/** The result of a window whose versions were all published by earlier attempts. */
async function finishedEarlier(
  registry: RegistryStore,
  model: string,
  resume: ResumePoint,
  before: Awaited<ReturnType<typeof publishedSoFar>>,
): Promise<RecurringWindowResult> {
  const manifest = await registry.get(model, resume.version);
  return {
    lastVersion: resume.version,
    versions: before.versions,
    held: before.held,
    ...(resume.head === null ? {} : { head: resume.head }),
    offsets:
      resume.startOffsets ??
      (manifest.dataRange.kind === 'recurring' ? manifest.dataRange.toOffsets : {}),
    consumed: before.trained + before.deadLettered,
    trained: before.trained,
    deadLettered: before.deadLettered,
    eventsPerSecond: 0,
    metrics: manifest.metrics,
    lag: 0,
    ...(manifest.widths ? { widths: manifest.widths } : {}),
  };
}

/** The recurring activities' type, for `proxyActivities`. */
export type RecurringActivities = ReturnType<typeof createRecurringActivities>;
