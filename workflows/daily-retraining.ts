import {
  executeChild,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EvaluateActivities } from '../activities/evaluate';
import type { RegistryActivities } from '../activities/registry';
import {
  DailyRetrainingInput,
  recurringWorkflowId,
  type DailyRetrainingInput as DailyRetrainingInputType,
  type DailyRetrainingResult,
  type VersionInfo,
} from '../schemas/workflow-io';
import { AgpModel, AgpPhase, AgpVersion, handoverSignal, parseWorkflowInput } from './messages';
import { offlineTraining } from './offline-training';
import { recurringTraining } from './recurring-training';

const { describeServingVersion } = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['ConfigError', 'DataError'] },
});

const { evaluateVersions } = proxyActivities<EvaluateActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['ConfigError', 'DataError'] },
});

/**
 * The scheduled daily job: train a candidate offline (child `offlineTraining`) on the latest
 * data window, score it against the model the recurring phase serves on the newest events, and
 * if it is not worse (NE ≤ current × (1 + tolerance)) hand it to the recurring workflow, which
 * continues from the offsets it has reached; otherwise keep the current model and say why.
 */
export async function dailyRetraining(
  raw: DailyRetrainingInputType,
): Promise<DailyRetrainingResult> {
  const input = parseWorkflowInput(DailyRetrainingInput, raw, 'dailyRetraining input');
  upsertSearchAttributes([
    { key: AgpModel, value: input.model },
    { key: AgpPhase, value: 'daily' },
  ]);
  const current = await describeServingVersion({ model: input.model });
  const candidate = await executeChild(offlineTraining, {
    workflowId: `${workflowInfo().workflowId}-offline`,
    args: [{ model: input.model, trainConfig: input.trainConfig }],
  });
  upsertSearchAttributes([{ key: AgpVersion, value: candidate.version }]);

  const decision = await decide(input, candidate.version, current);
  if (decision.handedOver) await handOver(input, candidate.version, current);
  upsertMemo({ decision: decision.reason });
  return decision;
}

/** Compares candidate and current on the newest events. */
async function decide(
  input: ReturnType<typeof DailyRetrainingInput.parse>,
  candidate: string,
  current: VersionInfo | null,
): Promise<DailyRetrainingResult> {
  const base = { candidate, current: current?.version ?? null };
  if (current === null) {
    return {
      ...base,
      candidateNe: null,
      currentNe: null,
      handedOver: true,
      reason: 'no current model: the candidate starts the recurring phase',
    };
  }
  const evaluation = await evaluateVersions({
    model: input.model,
    candidate,
    baseline: current.version,
    topic: input.topic,
    events: input.evalEvents,
  });
  const candidateNe = evaluation.candidate['ne'] ?? null;
  const currentNe = evaluation.baseline['ne'] ?? null;
  if (evaluation.events === 0 || candidateNe === null || currentNe === null) {
    return {
      ...base,
      candidateNe,
      currentNe,
      handedOver: false,
      reason: `kept ${current.version}: no recent events on ${input.topic} to compare on`,
    };
  }
  const limit = currentNe * (1 + input.tolerance);
  const handedOver = candidateNe <= limit;
  const figures = `NE ${candidateNe.toFixed(5)} vs ${currentNe.toFixed(5)} on ${evaluation.events} events (tolerance ${input.tolerance})`;
  return {
    ...base,
    candidateNe,
    currentNe,
    handedOver,
    reason: handedOver
      ? `handed ${candidate} over: ${figures}`
      : `kept ${current.version}: candidate ${candidate} is worse, ${figures}`,
  };
}

/**
 * Signals the model's recurring workflow to continue from the candidate; when none is running,
 * starts one (abandoned by this run, so it outlives it) at the current model's offsets.
 */
async function handOver(
  input: ReturnType<typeof DailyRetrainingInput.parse>,
  candidate: string,
  current: VersionInfo | null,
): Promise<void> {
  const workflowId = recurringWorkflowId(input.model);
  try {
    await getExternalWorkflowHandle(workflowId).signal(handoverSignal, {
      version: candidate,
      reason: `daily retraining ${workflowInfo().workflowId}`,
    });
  } catch {
    await startChild(recurringTraining, {
      workflowId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [
        {
          model: input.model,
          fromVersion: candidate,
          topic: input.topic,
          ...input.recurring,
          ...(current && Object.keys(current.offsets).length > 0
            ? { startOffsets: current.offsets }
            : {}),
          // The candidate's first version replaces the served one (the registry's hand-over CAS).
          ...(current ? { supersedes: current.version } : {}),
        },
      ],
    });
  }
}
