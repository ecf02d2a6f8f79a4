import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { parseOrThrow } from '../schemas/zod-errors';
import {
  OfflineHeartbeat,
  OfflineTrainingInput,
  type OfflineTrainingResult,
} from '../schemas/workflow-io';
import { runOfflinePhase } from '../src/pipeline/offline-phase';
import type { RegistryStore } from '../src/registry/store';
import { toFailure } from './failure';
import { keepAlive } from './heartbeat';

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
     * Runs AGP training and publishes the full-width model as an `offline` version. Heartbeats
     * the step; a retry resumes from the run's last checkpoint, and a retry after the publish
     * returns the published version instead of training again.
     */
    async trainOfflineModel(raw: OfflineTrainingInput): Promise<OfflineTrainingResult> {
      const ctx = Context.current();
      try {
        const input = parseOrThrow(OfflineTrainingInput, raw, 'trainOfflineModel input');
        const previous = OfflineHeartbeat.safeParse(ctx.info.heartbeatDetails);
        if (previous.success && previous.data.published) return previous.data.published;
        const exec = ctx.info.workflowExecution;
        const runKey = exec ? `${exec.workflowId}-${exec.runId}` : ctx.info.activityId;
        const runDir = previous.success
          ? previous.data.runDir
          : join(deps.dataDir, 'runs', `${input.model}-${runKey}`.replace(/[^\w.-]/g, '_'));
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
            signal: ctx.cancellationSignal,
            ...(resumable ? { resumeFrom: checkpointDir } : {}),
            onProgress: (p) => {
              beat = { runDir, step: p.step, totalSteps: p.totalSteps };
              ctx.heartbeat(beat);
            },
          },
        ).finally(stopBeating);
        const result: OfflineTrainingResult = {
          model: manifest.model,
          version: manifest.version,
          metrics: manifest.metrics,
          ...(manifest.widths ? { widths: manifest.widths } : {}),
          summary,
        };
        ctx.heartbeat({ ...beat, published: result });
        return result;
      } catch (error) {
        throw toFailure(error, ctx.cancellationSignal);
      }
    },
  };
}

/** The offline activities' type, for `proxyActivities`. */
export type OfflineActivities = ReturnType<typeof createOfflineActivities>;
