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

const { trainOfflineModel } = proxyActivities<OfflineActivities>({
  // A long run on a small machine; heartbeats say it is alive.
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    // A bad config or a bad file does not get better by retrying.
    nonRetryableErrorTypes: ['ConfigError', 'DataError'],
  },
});

/**
 * The offline phase: AGP training on a data range, then the full-width model published as an
 * `offline` version. Returns the version and its held-out metrics; the run is tagged
 * `AgpPhase=offline` with its model, version, NE and widths.
 */
export async function offlineTraining(
  raw: OfflineTrainingInputType,
): Promise<OfflineTrainingResult> {
  const input = parseWorkflowInput(OfflineTrainingInput, raw, 'offlineTraining input');
  upsertSearchAttributes([
    { key: AgpModel, value: input.model },
    { key: AgpPhase, value: 'offline' },
  ]);
  const result = await trainOfflineModel(input);
  const updates: SearchAttributeUpdatePair[] = [{ key: AgpVersion, value: result.version }];
  const ne = result.metrics['ne'];
  if (ne !== undefined) updates.push({ key: AgpNe, value: ne });
  if (result.widths) updates.push({ key: AgpWidths, value: formatWidthsKeyword(result.widths) });
  upsertSearchAttributes(updates);
  upsertMemo({ summary: result.summary, version: result.version, metrics: result.metrics });
  return result;
}
