import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RecurringActivities } from '../activities/recurring';
import type { RegistryActivities } from '../activities/registry';
import type { KafkaOffsets } from '../schemas/manifest';
import {
  RecurringTrainingInput,
  type RecurringTrainingInputParsed,
  type RecurringState,
  type RecurringStatus,
  type RecurringTrainingInput as RecurringTrainingInputType,
  type RecurringWindowResult,
} from '../schemas/workflow-io';
import {
  AgpGate,
  AgpModel,
  AgpNe,
  AgpPhase,
  AgpVersion,
  AgpWidths,
  discardUpdate,
  formatWidthsKeyword,
  handoverSignal,
  parseWorkflowInput,
  pauseSignal,
  promoteUpdate,
  resumeSignal,
  statusQuery,
} from './messages';

/** The window activity, with the run's heartbeat timeout (how long a silent attempt is trusted). */
function windowActivity(heartbeatTimeoutSeconds: number) {
  return proxyActivities<RecurringActivities>({
    // A window waits for events; heartbeats (every Kafka batch) prove it is alive meanwhile.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
    retry: {
      initialInterval: '2 seconds',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: ['ConfigError', 'DataError'],
    },
  }).trainRecurringWindow;
}

const { promoteVersion, discardVersion } = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['ConfigError', 'DataError'] },
});

/** Published versions remembered in the state (for status and the promote validator). */
const MAX_REMEMBERED = 200;

/** True when the offsets name no partition. */
function isEmpty(offsets: KafkaOffsets | undefined): boolean {
  return offsets === undefined || Object.keys(offsets).length === 0;
}

/**
 * The recurring phase: from a version, loops train-window → publish until `maxVersions`
 * versions (forever when unset). Each window is an activity that resumes from the current
 * version's offsets, so the model sees every event exactly once across windows, retries,
 * hand-overs and continue-as-new.
 *
 * Publish gate: a version whose progressive NE or calibration regresses past `input.gate` is
 * published held (`latest` and AgpVersion stay at the good version; memo `held` lists it); the
 * next window trains from the good version after the held offsets. After
 * `gate.maxConsecutiveHolds` holds in a row the workflow pauses itself (status `pausedReason`,
 * memo `pausedReason`) until an operator promotes or discards and resumes.
 *
 * Messages: `pauseSignal` / `resumeSignal` (take effect between windows), `handoverSignal`
 * (train from a new version, at the current offsets), `statusQuery`, `promoteUpdate` (a held
 * version becomes the one training continues from), `discardUpdate`.
 * The run continues as new with its state when the server suggests it or after
 * `windowsPerRun` windows, once every message handler has finished.
 */
export async function recurringTraining(raw: RecurringTrainingInputType): Promise<RecurringState> {
  const input = parseWorkflowInput(RecurringTrainingInput, raw, 'recurringTraining input');
  const groupId = input.groupId ?? `agp-recurring-${input.model}`;
  const trainRecurringWindow = windowActivity(input.heartbeatTimeoutSeconds);
  const state: RecurringState = {
    ...(input.state ?? {
      version: input.fromVersion,
      offsets: input.startOffsets ?? {},
      versionsPublished: 0,
      eventsTrained: 0,
      deadLettered: 0,
      eventsPerSecond: 0,
      ne: null,
      lag: 0,
      published: [],
      paused: false,
      pausedReason: null,
      held: [],
      consecutiveHolds: 0,
      ...(input.supersedes === undefined ? {} : { supersedes: input.supersedes }),
    }),
    iterations: 0,
  };
  // Offsets the next window must start from instead of its version's own: set for a version that
  // has none (an offline one) and cleared once a window has published a version of its own.
  let startOffsets: KafkaOffsets | undefined = input.startOffsets;
  let pendingHandover: string | null = null;
  let activity: RecurringStatus['activity'] = 'training';
  /** Versions the promote validator accepts: what this phase trained from or published. */
  const known = new Set<string>([input.fromVersion, state.version, ...state.published]);

  setHandler(pauseSignal, () => {
    state.paused = true;
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    state.pausedReason = null;
    state.consecutiveHolds = 0;
    tagGate(state);
  });
  setHandler(handoverSignal, ({ version }) => {
    pendingHandover = version;
    known.add(version);
  });
  setHandler(statusQuery, () => ({
    ...state,
    model: input.model,
    topic: input.topic,
    activity: state.paused && activity === 'training' ? 'paused' : activity,
    pendingHandover,
  }));
  setHandler(
    promoteUpdate,
    async (request) => {
      const before = activity;
      activity = 'promoting';
      try {
        const info = await promoteVersion({ ...request, model: input.model });
        if (state.held.some((h) => h.version === request.version)) {
          // A promoted held version is `latest` now: the next window continues from it.
          state.version = request.version;
          state.head = request.version;
          state.held = state.held.filter((h) => h.version !== request.version);
          state.consecutiveHolds = 0;
          tag(state);
        }
        return info;
      } finally {
        activity = before;
      }
    },
    {
      validator: (request) => {
        if (request.model !== input.model) {
          throw new Error(`this workflow trains model '${input.model}', not '${request.model}'`);
        }
        if (!known.has(request.version)) {
          throw new Error(
            `unknown version '${request.version}': this recurring phase has trained from or published ${[...known].join(', ')}`,
          );
        }
      },
    },
  );

  setHandler(
    discardUpdate,
    async (request) => {
      const info = await discardVersion({ ...request, model: input.model });
      state.held = state.held.filter((h) => h.version !== request.version);
      tagGate(state);
      return info;
    },
    {
      validator: (request) => {
        if (request.model !== input.model) {
          throw new Error(`this workflow trains model '${input.model}', not '${request.model}'`);
        }
        if (!state.held.some((h) => h.version === request.version)) {
          throw new Error(
            `'${request.version}' is not held (held: ${state.held.map((h) => h.version).join(', ') || 'none'})`,
          );
        }
      },
    },
  );

  upsertSearchAttributes([
    { key: AgpModel, value: input.model },
    { key: AgpPhase, value: 'recurring' },
    { key: AgpVersion, value: state.version },
  ]);

  const more = (): boolean =>
    input.maxVersions === undefined || state.versionsPublished < input.maxVersions;

  while (more()) {
    await condition(() => !state.paused);
    if (pendingHandover !== null) {
      // The new version continues where the stream is: the current offsets, not its own. Its
      // first publish replaces the served version (the registry's hand-over compare-and-set).
      state.supersedes ??= state.version;
      state.version = pendingHandover;
      if (!isEmpty(state.offsets)) startOffsets = state.offsets;
      pendingHandover = null;
    }
    // A window is as long as `windowSeconds` (the default) or `windowVersions` versions.
    const windowVersions = input.windowVersions ?? MAX_WINDOW_VERSIONS;
    const windowSeconds =
      input.windowSeconds ??
      (input.windowVersions === undefined ? DEFAULT_WINDOW_SECONDS : undefined);
    const remaining =
      input.maxVersions === undefined
        ? windowVersions
        : input.maxVersions - state.versionsPublished;
    activity = 'training';
    const result = await trainRecurringWindow({
      model: input.model,
      fromVersion: state.version,
      topic: input.topic,
      groupId,
      eventsPerVersion: input.eventsPerVersion,
      versions: Math.min(windowVersions, remaining),
      publishEverySeconds: input.publishEverySeconds,
      ...(input.publishEvery.exact ? { exactVersions: true } : {}),
      ...(windowSeconds === undefined ? {} : { windowSeconds }),
      ...(startOffsets === undefined ? {} : { startOffsets }),
      head: state.head ?? state.version,
      ...(state.supersedes === undefined ? {} : { supersedes: state.supersedes }),
      ...(input.gate.enabled
        ? {
            gate: {
              ne: input.gate.ne,
              calibration: input.gate.calibration,
              heldBackNe: input.gate.heldBackNe,
              falseAlarmRate: input.gate.falseAlarmRate,
              ...(input.gate.holdBackFraction > 0
                ? {
                    holdBack: {
                      fraction: input.gate.holdBackFraction,
                      capacity: input.gate.holdBackEvents,
                      minEvents: warmUpEvents(input),
                    },
                  }
                : {}),
            },
          }
        : {}),
      ...(input.eventValidation === undefined ? {} : { eventValidation: input.eventValidation }),
      ...(input.optimizer === undefined ? {} : { optimizer: input.optimizer }),
    });
    apply(state, result, known);
    if (result.versions.length > 0) startOffsets = undefined;
    if (result.versions.some((v) => !result.held.some((h) => h.version === v))) {
      delete state.supersedes;
    }
    state.iterations++;
    if (state.consecutiveHolds >= input.gate.maxConsecutiveHolds) {
      state.paused = true;
      const last = state.held.at(-1);
      state.pausedReason =
        `paused by the publish gate: ${state.consecutiveHolds} consecutive versions held ` +
        `(${state.held.map((h) => h.version).join(', ')}); latest stays at ${state.version}` +
        (last ? `; last reason: ${last.reasons.join('; ')}` : '') +
        '. Promote or discard the held versions, then resume.';
    }
    tag(state, result);

    if (
      more() &&
      (workflowInfo().continueAsNewSuggested || state.iterations >= input.windowsPerRun)
    ) {
      await condition(allHandlersFinished);
      // The next run's start offsets are only those still pending, never the first run's.
      const { startOffsets: _first, state: _old, ...settings } = input;
      return continueAsNew<typeof recurringTraining>({
        ...settings,
        fromVersion: state.version,
        ...(startOffsets === undefined ? {} : { startOffsets }),
        state,
      });
    }
  }
  activity = 'done';
  await condition(allHandlersFinished);
  return state;
}

/**
 * A window's length when `windowVersions` is unset. Starting a window costs an activity, a
 * Kafka consumer's connect and group join, the topic's watermarks and (without the worker's
 * trainer cache) a version load: a fraction of a second to a few seconds. At 30 s that is a few
 * percent of the window, while a hand-over, pause or promote signal, handled between windows,
 * waits at most about as long.
 */
const DEFAULT_WINDOW_SECONDS = 30;
/** Versions a time-bounded window may publish at most (a bound, not a target). */
const MAX_WINDOW_VERSIONS = 10_000;

/**
 * Events the first window after a hand-over holds back before its first version can be judged:
 * `minHeldBackEvents`, but at most half a version (at least the 100 the gate needs to judge at
 * all), so a small version still trains on most of its events.
 */
function warmUpEvents(input: RecurringTrainingInputParsed): number {
  const halfVersion = Math.max(100, Math.floor(input.eventsPerVersion / 2));
  return Math.min(input.gate.minHeldBackEvents, input.gate.holdBackEvents, halfVersion);
}

/** Folds a window's result into the state. */
function apply(state: RecurringState, result: RecurringWindowResult, known: Set<string>): void {
  state.version = result.lastVersion;
  if (result.head !== undefined) state.head = result.head;
  if (result.reverted !== undefined) {
    state.reverted = `${result.reverted.version} restores ${result.reverted.restores}: ${result.reverted.reason}`;
  }
  if (result.versions.length > 0) state.offsets = result.offsets;
  // Held versions in a row: a served version resets the count.
  const held = new Set(result.held.map((h) => h.version));
  for (const v of result.versions)
    state.consecutiveHolds = held.has(v) ? state.consecutiveHolds + 1 : 0;
  state.held = [...state.held, ...result.held].slice(-MAX_REMEMBERED);
  state.versionsPublished += result.versions.length;
  // Bounded: the state travels through continueAsNew and must stay small.
  state.published = [...state.published, ...result.versions].slice(-MAX_REMEMBERED);
  for (const v of result.versions) known.add(v);
  state.eventsTrained += result.trained;
  state.deadLettered += result.deadLettered;
  state.eventsPerSecond = result.eventsPerSecond;
  state.ne = result.metrics['ne'] ?? state.ne;
  state.lag = result.lag;
}

/** Shows held versions and a self-pause in the Temporal UI (memo: `held`, `pausedReason`, `reverted`). */
function tagGate(state: RecurringState): void {
  upsertMemo(gateMemo(state));
}

function gateMemo(state: RecurringState) {
  return {
    held: state.held.map((h) => `${h.version}: ${h.reasons.join('; ')}`).join(' | ') || null,
    pausedReason: state.pausedReason,
    ...(state.reverted === undefined ? {} : { reverted: state.reverted }),
  };
}

/** Shows the newest served version, NE and widths in the Temporal UI. */
function tag(state: RecurringState, result?: RecurringWindowResult): void {
  const gate =
    state.paused && state.pausedReason
      ? 'paused'
      : result?.reverted !== undefined
        ? 'reverted'
        : state.consecutiveHolds > 0
          ? 'held'
          : 'ok';
  const updates: SearchAttributeUpdatePair[] = [
    { key: AgpVersion, value: state.version },
    { key: AgpGate, value: gate },
  ];
  if (state.ne !== null) updates.push({ key: AgpNe, value: state.ne });
  if (result?.widths) updates.push({ key: AgpWidths, value: formatWidthsKeyword(result.widths) });
  upsertSearchAttributes(updates);
  // One memo upsert per window, as before the gate existed: histories of running workflows replay.
  upsertMemo({
    ...gateMemo(state),
    versionsPublished: state.versionsPublished,
    eventsTrained: state.eventsTrained,
    deadLettered: state.deadLettered,
    eventsPerSecond: Math.round(state.eventsPerSecond),
    lag: state.lag,
  });
}
