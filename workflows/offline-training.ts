import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { proxyActivities, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { OfflineActivities } from '../activities/offline';
import {
  OfflineTrainingInput,
  type OfflineTrainingInput as OfflineTrainingInputType,
  type OfflineTrainingResult,
} from '../schemas/workflow-io';
import {
  AgpModel,
  AgpNe,
  AgpPhase,
  AgpVersion,
  AgpWidths,
  formatWidthsKeyword,
  parseWorkflowInput,
} from './messages';

/** The training activity, with the run's heartbeat timeout (how long a silent attempt is trusted). */
function trainingActivity(heartbeatTimeoutSeconds: number) {
  return proxyActivities<OfflineActivities>({
    // A long run on a small machine; heartbeats say it is alive.
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
    retry: {
      // As the recurring windows: after a worker loss the heartbeat timeout already waited.
      initialInterval: '2 seconds',
      maximumInterval: '2 minutes',
      maximumAttempts: 5,
      // A bad config or a bad file does not get better by retrying.
      nonRetryableErrorTypes: ['ConfigError', 'DataError'],
    },
  }).trainOfflineModel;
}

/**
 * The offline phase: AGP training on a data range, then the full-width model published as an
 * `offline` version. Returns the version and its held-out metrics; the run is tagged
 * `AgpPhase=offline` with its model, version, NE and widths. A worker lost mid-run is noticed
 * after `heartbeatTimeoutSeconds` and the run retried on another worker (activities/offline.ts
 * says from where); the run publishes one version however many attempts it takes.
 */
export async function offlineTraining(
  raw: OfflineTrainingInputType,
): Promise<OfflineTrainingResult> {
  const input = parseWorkflowInput(OfflineTrainingInput, raw, 'offlineTraining input');
  upsertSearchAttributes([
    { key: AgpModel, value: input.model },
    { key: AgpPhase, value: 'offline' },
  ]);
  const result = await trainingActivity(input.heartbeatTimeoutSeconds)(input);
  const updates: SearchAttributeUpdatePair[] = [{ key: AgpVersion, value: result.version }];
  const ne = result.metrics['ne'];
  if (ne !== undefined) updates.push({ key: AgpNe, value: ne });
  if (result.widths) updates.push({ key: AgpWidths, value: formatWidthsKeyword(result.widths) });
  upsertSearchAttributes(updates);
  upsertMemo({ summary: result.summary, version: result.version, metrics: result.metrics });
  return result;
}
