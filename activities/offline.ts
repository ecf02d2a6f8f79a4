import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Context, type Info } from '@temporalio/activity';
import type { Manifest } from '../schemas/manifest';
import { parseOrThrow } from '../schemas/zod-errors';
import {
  OfflineHeartbeat,
  OfflineTrainingInput,
  type OfflineTrainingResult,
} from '../schemas/workflow-io';
import { runOfflinePhase } from '../src/pipeline/offline-phase';
import { findOfflineRun, offlineVersionSummary } from '../src/pipeline/offline-run';
import type { RegistryStore } from '../src/registry/store';
import { toFailure } from './failure';
import { keepAlive } from './heartbeat';
import { confirmHeartbeat } from './heartbeat-fence';

/** Dependencies of the offline activities. */
export interface OfflineDeps {
  registry: RegistryStore;
  /** State directory: runs and their checkpoints go under `<dataDir>/runs`. */
  dataDir: string;
}

/** Activities of the offline phase. */
export function createOfflineActivities(deps: OfflineDeps) {
  return {
    /**
     * Runs AGP training and publishes the full-width model as an `offline` version, once per
     * workflow run. Heartbeats the step.
     *
     * A retry works in its own worker's data directory, never in the path a dead worker
     * heartbeated: on separate hosts that path is another machine's. Checkpoints are local (the
     * registry holds versions, not a run's intermediate state), so a retry on the same host
     * (the same `AGP_DATA_DIR`) resumes from the run's last checkpoint (`checkpointEvery`), and
     * a retry on another host trains from scratch. A retry after the publish, on any host,
     * returns the published version instead of training again: from the last heartbeat, or
     * from the registry, whose offline versions record the run that published them.
     */
    async trainOfflineModel(raw: OfflineTrainingInput): Promise<OfflineTrainingResult> {
      const ctx = Context.current();
      try {
        const input = parseOrThrow(OfflineTrainingInput, raw, 'trainOfflineModel input');
        const previous = OfflineHeartbeat.safeParse(ctx.info.heartbeatDetails);
        if (previous.success && previous.data.published) return previous.data.published;
        const run = runOf(ctx.info);
        const earlier = await findOfflineRun(deps.registry, input.model, run.id);
        if (earlier !== null) {
          return resultOf(
            earlier,
            `${offlineVersionSummary(earlier)} (published by an earlier attempt)`,
          );
        }
        const runDir = join(
          deps.dataDir,
          'runs',
          `${input.model}-${run.dirKey}`.replace(/[^\w.-]/g, '_'),
        );
        const checkpointDir = join(runDir, 'checkpoint');
        const resumable = existsSync(join(checkpointDir, 'manifest.json'));
        let beat: OfflineHeartbeat = { runDir, step: 0, totalSteps: 0 };
        ctx.heartbeat(beat);
        const stopBeating = keepAlive(ctx, () => beat);
        const { manifest, summary } = await runOfflinePhase(
          deps.registry,
          input.model,
          input.trainConfig,
          {
            outDir: runDir,
            checkpointEvery: input.checkpointEvery,
            ...(input.window ? { window: input.window } : {}),
            ...(input.judge ? { judge: input.judge } : {}),
            signal: ctx.cancellationSignal,
            ...(resumable ? { resumeFrom: checkpointDir } : {}),
            runId: run.id,
            // No second attempt can start within a heartbeat timeout of an acknowledged beat,
            // so this attempt and a retry never both get past it into the publish.
            beforePublish: () => confirmHeartbeat(ctx, beat),
            onProgress: (p) => {
              beat = { runDir, step: p.step, totalSteps: p.totalSteps };
              ctx.heartbeat(beat);
            },
          },
        ).finally(stopBeating);
        const result = resultOf(manifest, summary);
        ctx.heartbeat({ ...beat, published: result });
        return result;
      } catch (error) {
        throw toFailure(error, ctx.cancellationSignal);
      }
    },
  };
}

/**
 * The run an attempt belongs to: its id in manifests (every attempt of a workflow run shares
 * it) and the name of its directory (as before ids were recorded, so a same-host retry of a
 * run started by an older worker still finds its checkpoint).
 */
function runOf(info: Info): { id: string; dirKey: string } {
  const exec = info.workflowExecution;
  return exec
    ? { id: `${exec.workflowId}/${exec.runId}`, dirKey: `${exec.workflowId}-${exec.runId}` }
    : { id: info.activityId, dirKey: info.activityId };
}

function resultOf(manifest: Manifest, summary: string): OfflineTrainingResult {
  return {
    model: manifest.model,
    version: manifest.version,
    metrics: manifest.metrics,
    ...(manifest.widths ? { widths: manifest.widths } : {}),
    ...(manifest.judgement ? { judgement: manifest.judgement } : {}),
    summary,
  };
}

/** The offline activities' type, for `proxyActivities`. */
export type OfflineActivities = ReturnType<typeof createOfflineActivities>;
