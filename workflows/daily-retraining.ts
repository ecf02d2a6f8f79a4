import {
  ActivityFailure,
  ApplicationFailure,
  defineSearchAttributeKey,
  SearchAttributeType,
} from '@temporalio/common';
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
import type { WindowActivities } from '../activities/training-window';
import {
  DailyRetrainingInput,
  recurringWorkflowId,
  type DailyRetrainingInput as DailyRetrainingInputType,
  type DailyRetrainingResult,
  type ResolveWindowResult,
  type VersionInfo,
} from '../schemas/workflow-io';
import { AgpModel, AgpPhase, AgpVersion, handoverSignal, parseWorkflowInput } from './messages';
import { offlineTraining } from './offline-training';
import { recurringTraining } from './recurring-training';

const { describeServingVersion } = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['ConfigError', 'DataError'] },
});

const { resolveTrainingWindow } = proxyActivities<WindowActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['ConfigError', 'DataError'] },
});

/** Set by Temporal on every run a Schedule starts: the time the run was scheduled for. */
const ScheduledStartTime = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

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
  const windowed = input.window ? await resolveWindow(input, input.window) : null;
  const trainConfig = windowed
    ? {
        ...input.trainConfig,
        data: { ...dataOf(input.trainConfig), train: windowed.train, test: windowed.test },
      }
    : input.trainConfig;
  const current = await describeServingVersion({ model: input.model });
  const candidate = await executeChild(offlineTraining, {
    workflowId: `${workflowInfo().workflowId}-offline`,
    args: [
      {
        model: input.model,
        trainConfig,
        ...(windowed ? { window: windowed.window } : {}),
        ...(input.offlineHeartbeatTimeoutSeconds === undefined
          ? {}
          : { heartbeatTimeoutSeconds: input.offlineHeartbeatTimeoutSeconds }),
      },
    ],
  });
  upsertSearchAttributes([{ key: AgpVersion, value: candidate.version }]);

  const decision = await decide(input, candidate.version, current);
  if (decision.handedOver) await handOver(input, candidate.version, current);
  upsertMemo({ decision: decision.reason });
  return windowed
    ? { ...decision, nominalTime: windowed.window.nominalTime, window: windowed.summary }
    : decision;
}

function dataOf(trainConfig: Record<string, unknown>): Record<string, unknown> {
  const data = trainConfig['data'];
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

/**
 * The nominal time: the input's (a catch-up names the day it stands in for), else the time the
 * Schedule scheduled this run for. Never the wall clock: a run delayed by an outage still trains
 * the window it was scheduled for.
 */
function nominalTimeOf(input: DailyInput): string {
  if (input.nominalTime !== undefined) return new Date(input.nominalTime).toISOString();
  const scheduled = workflowInfo().typedSearchAttributes.get(ScheduledStartTime);
  if (scheduled !== undefined) return scheduled.toISOString();
  throw ApplicationFailure.create({
    type: 'ConfigError',
    nonRetryable: true,
    message:
      'dailyRetraining with a data window needs a nominal time: start it from its Schedule, ' +
      'or pass nominalTime (ISO 8601) in the input',
  });
}

/**
 * Resolves the window in an activity (offsets-for-times and file listings are I/O). A window
 * with no data fails the run with a non-retryable error naming the window and its times.
 */
async function resolveWindow(
  input: DailyInput,
  window: NonNullable<DailyInput['window']>,
): Promise<ResolveWindowResult> {
  const nominalTime = nominalTimeOf(input);
  upsertMemo({ nominalTime });
  try {
    const resolved = await resolveTrainingWindow({
      window,
      nominalTime,
      trainConfig: input.trainConfig,
    });
    upsertMemo({ window: resolved.summary });
    return resolved;
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.nonRetryable) {
      throw ApplicationFailure.create({
        type: cause.type ?? 'DataError',
        message: cause.message,
        nonRetryable: true,
      });
    }
    throw error;
  }
}

type DailyInput = ReturnType<typeof DailyRetrainingInput.parse>;

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
