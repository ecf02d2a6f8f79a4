import {
  ActivityFailure,
  ApplicationFailure,
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributeUpdatePair,
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
import type { DailyActivities } from '../activities/daily';
import type { EvaluateActivities } from '../activities/evaluate';
import type { RegistryActivities } from '../activities/registry';
import type { WindowActivities } from '../activities/training-window';
import {
  DailyRetrainingInput,
  recurringWorkflowId,
  type DailyRetrainingInput as DailyRetrainingInputType,
  type DailyRetrainingResult,
  type DailyVersion,
  type OfflineTrainingResult,
  type ResolveWindowResult,
  type VersionInfo,
} from '../schemas/workflow-io';
import {
  AgpDecision,
  AgpModel,
  AgpNe,
  AgpPhase,
  AgpServedNe,
  AgpVersion,
  handoverSignal,
  parseWorkflowInput,
} from './messages';
import { offlineTraining } from './offline-training';
import { recurringTraining } from './recurring-training';

// Every activity and child of this workflow has a bounded retry policy, and errors that cannot
// heal (a bad config, a missing topic, an empty window, bad data) are not retried at all: a
// daily run ends, failed or done, and the next day's run starts fresh.
const NON_RETRYABLE = ['ConfigError', 'DataError'];

const { describeServingVersion } = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

const { resolveTrainingWindow } = proxyActivities<WindowActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

const { findDailyVersion, checkTopic } = proxyActivities<DailyActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Set by Temporal on every run a Schedule starts: the time the run was scheduled for. */
const ScheduledStartTime = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

const { evaluateVersions } = proxyActivities<EvaluateActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * The scheduled daily job: train a candidate offline (child `offlineTraining`) on the data
 * window of the run's nominal time, judged before it is published against the version served
 * now, on the same rows of the window's test days (a paired comparison). A candidate that fails
 * is published `held` (listed, verifiable, never `latest`) and the served version stays. One
 * that passes becomes `latest` when no `topic` is configured (files-only retraining), or is
 * handed to the recurring workflow on `topic`. One version per model and nominal time: a
 * repeated run returns the existing version unless `force` is set.
 */
export async function dailyRetraining(
  raw: DailyRetrainingInputType,
): Promise<DailyRetrainingResult> {
  const input = parseWorkflowInput(DailyRetrainingInput, raw, 'dailyRetraining input');
  upsertSearchAttributes([
    { key: AgpModel, value: input.model },
    { key: AgpPhase, value: 'daily' },
  ]);
  // A missing topic would only show after training, as Kafka's own error on every retry.
  const topic = input.topic;
  if (topic !== undefined) await surfacingUserErrors(() => checkTopic({ topic }));
  const windowed = input.window ? await resolveWindow(input, input.window) : null;
  if (windowed && !input.force) {
    const existing = await findDailyVersion({
      model: input.model,
      nominalTime: windowed.window.nominalTime,
    });
    if (existing !== null) return existingResult(existing, windowed);
  }
  const trainConfig = windowed
    ? {
        ...input.trainConfig,
        data: { ...dataOf(input.trainConfig), train: windowed.train, test: windowed.test },
      }
    : input.trainConfig;
  const current = await describeServingVersion({ model: input.model });
  const candidate = await executeChild(offlineTraining, {
    workflowId: `${workflowInfo().workflowId}-offline`,
    // The child's activity retries a bounded number of times; the child itself is not retried.
    retry: { maximumAttempts: 1 },
    args: [
      {
        model: input.model,
        trainConfig,
        ...(windowed ? { window: windowed.window } : {}),
        judge: {
          servedVersion: current?.version ?? null,
          tolerance: input.tolerance,
          onPass: input.topic === undefined ? 'latest' : 'standby',
        },
        ...(input.offlineHeartbeatTimeoutSeconds === undefined
          ? {}
          : { heartbeatTimeoutSeconds: input.offlineHeartbeatTimeoutSeconds }),
      },
    ],
  });
  upsertSearchAttributes([{ key: AgpVersion, value: candidate.version }]);

  const decision = await decide(input, candidate, current);
  if (decision.handedOver && input.topic !== undefined) {
    await handOver(input, input.topic, candidate.version, current);
  }
  recordDecision(decision);
  return windowed
    ? { ...decision, nominalTime: windowed.window.nominalTime, window: windowed.summary }
    : decision;
}

/** The decision as search attributes (`AgpDecision`, `AgpNe`, `AgpServedNe`) and the memo. */
function recordDecision(decision: DailyRetrainingResult): void {
  const updates: SearchAttributeUpdatePair[] = [
    {
      key: AgpDecision,
      value: decision.existing
        ? 'existing'
        : decision.promoted
          ? 'promoted'
          : decision.handedOver
            ? 'handed-over'
            : 'kept',
    },
  ];
  if (decision.candidateNe !== null) updates.push({ key: AgpNe, value: decision.candidateNe });
  if (decision.currentNe !== null) updates.push({ key: AgpServedNe, value: decision.currentNe });
  upsertSearchAttributes(updates);
  upsertMemo({ decision: decision.reason });
}

/** The result of a run whose nominal time already has a version: nothing is trained. */
function existingResult(
  existing: DailyVersion,
  windowed: ResolveWindowResult,
): DailyRetrainingResult {
  const j = existing.judgement;
  const result: DailyRetrainingResult = {
    candidate: existing.version,
    current: j?.comparedWith ?? null,
    candidateNe: j?.candidateNe ?? null,
    currentNe: j?.servedNe ?? null,
    handedOver: false,
    promoted: false,
    existing: true,
    reason:
      `${existing.version} was already trained for nominal time ${windowed.window.nominalTime}` +
      ` (${existing.latest ? 'latest' : existing.held ? 'held: it failed its judgement' : 'not latest'}` +
      `${j ? `; ${j.reason}` : ''}); nothing trained (force: true retrains)`,
    nominalTime: windowed.window.nominalTime,
    window: windowed.summary,
  };
  upsertSearchAttributes([{ key: AgpVersion, value: existing.version }]);
  recordDecision(result);
  return result;
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
  const resolved = await surfacingUserErrors(() =>
    resolveTrainingWindow({ window, nominalTime, trainConfig: input.trainConfig }),
  );
  upsertMemo({ window: resolved.summary });
  return resolved;
}

/**
 * Runs an activity; when it fails with a non-retryable error (a user's mistake: a bad config,
 * a missing topic, an empty window), fails the run with that error itself, so the run's failure
 * says what is wrong instead of "Activity task failed".
 */
async function surfacingUserErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
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

/**
 * The run's decision: the judgement the offline run made on the test split before publishing
 * (it published a failing candidate held, and a passing one as `latest` when there is no topic).
 * A run without one (no judged split) compares on the newest events of `topic`.
 */
async function decide(
  input: DailyInput,
  candidate: OfflineTrainingResult,
  current: VersionInfo | null,
): Promise<DailyRetrainingResult> {
  const base = {
    candidate: candidate.version,
    current: current?.version ?? null,
    existing: false,
  };
  const judgement = candidate.judgement;
  if (judgement) {
    const passed = judgement.passed;
    const promoted = passed && input.topic === undefined;
    return {
      ...base,
      candidateNe: judgement.candidateNe,
      currentNe: judgement.servedNe,
      handedOver: passed && input.topic !== undefined,
      promoted,
      reason: passed
        ? `${promoted ? 'promoted' : 'handed'} ${candidate.version}${promoted ? ' to latest' : ' over'}: ${judgement.reason}`
        : `kept ${current?.version ?? '(none)'}: candidate ${candidate.version} is worse and held, ${judgement.reason}`,
    };
  }
  if (current === null || input.topic === undefined) {
    return {
      ...base,
      candidateNe: null,
      currentNe: null,
      handedOver: input.topic !== undefined,
      promoted: input.topic === undefined,
      reason:
        current === null
          ? 'no current model: the candidate starts the recurring phase'
          : `no judged test split and no topic: ${candidate.version} published as it is`,
    };
  }
  const evaluation = await evaluateVersions({
    model: input.model,
    candidate: candidate.version,
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
      promoted: false,
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
    promoted: false,
    reason: handedOver
      ? `handed ${candidate.version} over: ${figures}`
      : `kept ${current.version}: candidate ${candidate.version} is worse, ${figures}`,
  };
}

/**
 * Signals the model's recurring workflow to continue from the candidate; when none is running,
 * starts one (abandoned by this run, so it outlives it) at the current model's offsets.
 */
async function handOver(
  input: DailyInput,
  topic: string,
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
          topic,
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
