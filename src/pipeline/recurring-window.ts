import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { EventValidationInput } from '../../schemas/event-validation';
import {
  DEFAULT_RECURRING_OPTIMIZER,
  type RecurringOptimizer,
} from '../../schemas/recurring-optimizer';
import {
  ModelVersion,
  type KafkaOffsets,
  type Manifest,
  type SkippedRange,
  type TowerWidths,
} from '../../schemas/manifest';
import { parseOrThrow } from '../../schemas/zod-errors';
import { activeBackend } from '../model/backend';
import { saveCheckpoint } from '../model/checkpoint';
import type { RegistryStore } from '../registry/store';
import { runWindow, type WindowProgress } from '../stream/recurring-trainer';
import type { WindowTimings } from '../stream/window-timings';
import { handoverStepOf, offlineFinalFactorOf, recurringLrScale } from '../train/recurring-lr';
import type { BackgroundPublish, PublishRequest } from '../stream/training-loop';
import type { Trainer } from '../model/trainer';
import { loadTrainerFromVersion, towerWidths } from './model-version';
import { finiteMetrics } from './publish-offline';
import { publishStagingDir } from './publish-staging';
import type { KeptWindow, TrainerCache } from './trainer-cache';
import {
  HELD_BACK_SLICE_FILE,
  serializeHeldBack,
  type HeldBackConfig,
  type HeldBackEntry,
} from '../stream/held-back-slice';
import { publishRevert } from './publish-revert';
import { createGateScorer } from './gate-scoring';
import {
  DEFAULT_FALSE_ALARM_RATE,
  DEFAULT_HELD_BACK_NE,
  judgeVersion,
  type GateBaseline,
  type GateTolerances,
} from './publish-gate';
import {
  gateBaseline,
  offlineRoot,
  progressiveMetrics,
  toManifestOffsets,
  versionMetrics,
} from './version-metrics';
import { VersionSnapshots } from './version-snapshots';

/** Dependencies of {@link runRecurringWindow}. */
export interface RecurringWindowDeps {
  kafka: Kafka;
  registry: RegistryStore;
}

/** Settings of one recurring window. */
export interface RecurringWindowOptions {
  model: string;
  /** The version to load and train from (parent of the first version published). */
  fromVersion: string;
  topic: string;
  groupId: string;
  eventsPerVersion: number;
  /** Every version exactly `eventsPerVersion` events (src/stream/recurring-trainer.ts). @default false */
  exactVersions?: boolean;
  /** Versions to publish before the window ends. */
  versions: number;
  /** @default 60 */
  publishEverySeconds?: number;
  /** The window ends at its first version boundary after this many seconds. Unset: by `versions`. */
  windowSeconds?: number;
  /** Start here instead of the version's own offsets (hand-over of an offline version). */
  startOffsets?: KafkaOffsets;
  /** Events in the progressive-validation window. @default 10000 */
  metricsWindow?: number;
  /**
   * Where checkpoints are staged before publishing (src/pipeline/publish-staging.ts): a worker
   * passes `<AGP_DATA_DIR>/staging`, which it sweeps at start. @default the OS temp directory
   */
  workDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: WindowProgress) => void;
  /** Called after every published version (the activity heartbeats it). */
  onPublished?: (manifest: Manifest) => void;
  /**
   * The head to expect at the first publish (compare-and-set, see `RegistryStore.publish`): the
   * newest version of the served lineage, held ones included. @default fromVersion
   */
  expect?: string | null;
  /** Held versions (children of `fromVersion`) whose offsets the first version skips. */
  skipped?: SkippedRange[];
  /**
   * Called before every publish, after the checkpoint is saved; throwing stops the window without
   * publishing (the activity proves here that the server still hears its heartbeats).
   */
  beforePublish?: () => Promise<void>;
  /**
   * The publish gate: tolerances against the served parent's progressive metrics. A version that
   * regresses is published as held (`latest` does not move) and the window ends, so the next
   * one starts again from the good version's weights. With `holdBack`, a fraction of events is
   * set aside untrained and the candidate and the parent are also compared on the most recent
   * of them (a paired comparison, see publish-gate.ts). Unset: no gate.
   */
  gate?: GateTolerances & { holdBack?: HeldBackConfig | undefined };
  /**
   * The offline version this chain descends from (the gate's second reference). @default read
   * from `fromVersion`'s manifest (itself when offline, else its gate's `anchor`, else its
   * lineage walked back to the offline root)
   */
  anchor?: string;
  /** Event-time bounds and optional de-duplication (schemas/event-validation.ts). */
  eventValidation?: EventValidationInput;
  /**
   * Trainers kept between windows (a worker's): the window starts from the kept trainer when it
   * holds exactly `fromVersion`, and hands its trainer back when it ends cleanly right after
   * publishing a served version. Unset: load from the registry, dispose at the end.
   */
  trainers?: TrainerCache;
  /**
   * Test mode (the exactly-once test): every version also carries `trained-ids.json`, the ids
   * of the events it trained since its parent, in training order. @default false
   */
  recordTrainedIds?: boolean;
  /** The recurring phase's lr policy (schemas/recurring-optimizer.ts). @default DEFAULT_RECURRING_OPTIMIZER */
  recurringOptimizer?: RecurringOptimizer;
}

/** The file a version carries when {@link RecurringWindowOptions.recordTrainedIds} is on. */
export const TRAINED_IDS_FILE = 'trained-ids.json';
/** …and the ids of the events it held back for the gate (consumed, scored, not trained). */
export const HELD_BACK_IDS_FILE = 'held-back-ids.json';

/** What a recurring window did. */
export interface RecurringWindowOutcome {
  /** The newest served version (the one to train from next). */
  lastVersion: string;
  /** Every version published, held ones included, oldest first. */
  versions: string[];
  /** The versions the gate held, with why. */
  held: { version: string; reasons: string[] }[];
  /** The newest version of the lineage, held ones included (what the next publish expects). */
  head: string;
  /** A revert the watch published (`latest` back to the weights `of` replaced), if any. */
  reverted?: { version: string; of: string; restores: string; reason: string } | undefined;
  offsets: KafkaOffsets;
  consumed: number;
  trained: number;
  deadLettered: number;
  eventsPerSecond: number;
  metrics: Record<string, number>;
  lag: number;
  widths: TowerWidths;
  /** Where the window's time went (src/stream/window-timings.ts). */
  timings: WindowTimings;
}

/**
 * One window of the recurring phase: loads `fromVersion` from the registry, consumes the topic
 * from that version's offsets (or `startOffsets`), trains with progressive validation, and
 * publishes `versions` recurring versions, each the parent of the next, each carrying the
 * offsets its weights contain and its freshness (publish time − newest event time).
 *
 * A failed or aborted window leaves the last published version consistent: retrying from it
 * trains no event twice. Every publish expects the lineage's head (compare-and-set), so a stale
 * copy of this window fails with PublishConflictError instead of forking the chain. With `gate`
 * set, a version that regresses is published held and ends the window (see `gate`).
 */
export async function runRecurringWindow(
  deps: RecurringWindowDeps,
  options: RecurringWindowOptions,
): Promise<RecurringWindowOutcome> {
  const { registry } = deps;
  const { model } = options;
  const from = parseOrThrow(ModelVersion, options.fromVersion, 'fromVersion');
  const loaded: KeptWindow =
    options.trainers?.take(model, from) ?? (await loadTrainerFromVersion(registry, model, from));
  const { trainer, manifest: base } = loaded;
  // The gate scores the served parent (and the watch the version it replaced) with copies taken
  // when they were published, not reloaded from the registry: the trainer holds exactly `from`
  // now, so it is the first parent's copy.
  const snapshots = loaded.snapshots ?? new VersionSnapshots();
  if (options.gate !== undefined && snapshots.get(base.version) === undefined) {
    snapshots.take(base.version, trainer);
  }
  // The newest served version this window published: the trainer holds exactly its state
  // while nothing was consumed after it (see `trainers`).
  let lastServed: Manifest | null = null;
  const ownOffsets = base.dataRange.kind === 'recurring' ? base.dataRange.toOffsets : {};
  const startOffsets = options.startOffsets ?? ownOffsets;
  let parent = base.version;
  let head: ModelVersion | null =
    options.expect === undefined
      ? base.version
      : options.expect === null
        ? null
        : parseOrThrow(ModelVersion, options.expect, 'expect');
  let skipped = options.skipped ?? [];
  // The gate's baseline is the served parent's progressive metrics (an offline one has none).
  let baseline: GateBaseline | null = base.phase === 'recurring' ? gateBaseline(base) : null;
  const metrics = progressiveMetrics(options.metricsWindow ?? 10_000);
  // Steps since the hand-over survive windows: the step count is checkpointed, its origin is
  // in every recurring manifest (`handoverStep`).
  const handoverStep = handoverStepOf(base, trainer.stepCount);
  const lrAt = recurringLrScale(options.recurringOptimizer ?? DEFAULT_RECURRING_OPTIMIZER, {
    configuredLr: trainer.config.denseOptimizer.lr,
    offlineFinalFactor: offlineFinalFactorOf(base.config),
  });
  const versions: string[] = [];
  const held: RecurringWindowOutcome['held'] = [];
  // A held version ends the window: the trainer holds its weights, and the next window reloads
  // the good version's.
  const stop = new AbortController();
  const signal =
    options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  let seq = 0;

  // The offline root of this chain: the gate's second reference (a chain of versions each a bit
  // worse than its parent must not drift far below where it started).
  const anchor: ModelVersion | null =
    options.gate === undefined
      ? null
      : options.anchor !== undefined
        ? parseOrThrow(ModelVersion, options.anchor, 'anchor')
        : await offlineRoot(registry, model, base);
  const scorer = createGateScorer({
    registry,
    model,
    spec: loaded.spec,
    anchor,
    snapshots,
    ...(loaded.anchor === undefined ? {} : { anchorModel: loaded.anchor }),
    test: {
      heldBackNe: options.gate?.heldBackNe ?? DEFAULT_HELD_BACK_NE,
      falseAlarmRate: options.gate?.falseAlarmRate ?? DEFAULT_FALSE_ALARM_RATE,
    },
  });
  let lastSlice: HeldBackEntry[] = loaded.heldBack;
  // The served parent's manifest (what the gate and the watch score) and a revert this window
  // published.
  let parentManifest: Manifest = base;
  let reverted: RecurringWindowOutcome['reverted'];

  /**
   * Saves, gates and publishes `candidate` (the trainer's state at the version's boundary) as
   * the next version; `own` are its own-event figures. Returns the version when it is served
   * (null when held).
   */
  const publishFrom = async (
    candidate: Trainer,
    request: PublishRequest,
    own: Record<string, number>,
    snapshotSeconds: number | null,
  ): Promise<ModelVersion | null> => {
    const dir = publishStagingDir(options.workDir ?? tmpdir(), model, seq++);
    try {
      const saveStarted = Date.now();
      await saveCheckpoint(dir, candidate, { offsets: request.offsets, parent });
      const checkpointSeconds = (Date.now() - saveStarted) / 1000;
      if (request.trainedEventIds !== undefined) {
        await writeFile(join(dir, TRAINED_IDS_FILE), JSON.stringify(request.trainedEventIds));
      }
      if (request.heldBackEventIds !== undefined) {
        await writeFile(join(dir, HELD_BACK_IDS_FILE), JSON.stringify(request.heldBackEventIds));
      }
      if (options.gate?.holdBack !== undefined) {
        await writeFile(join(dir, HELD_BACK_SLICE_FILE), serializeHeldBack(request.heldBack));
      }
      const range = request.eventTimeRange;
      const freshnessSeconds = range === null ? Number.NaN : (Date.now() - range.max) / 1000;
      // The gate's comparisons, and the watch: the served parent against the version it
      // replaced, on events after it. A parent that fell behind is reverted, and this candidate
      // (trained from it) is held.
      const gateStarted = performance.now();
      const { slices, fellBehind } =
        options.gate === undefined
          ? { slices: [], fellBehind: null }
          : await scorer.score(candidate, parentManifest, request.heldBack);
      const gateSeconds = (performance.now() - gateStarted) / 1000;
      const verdict =
        options.gate === undefined
          ? undefined
          : fellBehind !== null
            ? {
                held: true,
                reasons: [`trained from a reverted version: ${fellBehind.reason}`],
                comparedWith: parent,
                anchor,
              }
            : { ...judgeVersion(own, baseline, options.gate, slices), anchor };
      const slice = slices.find((s) => s.role === 'served') ?? null;
      const anchorSlice = slices.find((s) => s.role === 'offline') ?? null;
      const fenceStarted = performance.now();
      await options.beforePublish?.();
      // The registry's part (upload or copy, the manifest, the ref) is timed by the window from
      // here: it ends after this manifest is written.
      const fenceSeconds = (performance.now() - fenceStarted) / 1000;
      const published = await registry.publish(
        model,
        { sourceDir: dir },
        {
          parent,
          phase: 'recurring',
          configHash: base.configHash,
          dataRange: {
            kind: 'recurring',
            fromOffsets: toManifestOffsets(request.fromOffsets),
            toOffsets: toManifestOffsets(request.offsets),
            eventTime: range === null ? null : { min: range.min, max: range.max },
            events: request.trainedEvents,
          },
          metrics: finiteMetrics({
            ...request.metrics,
            ...versionMetrics(own),
            ...(slice === null
              ? {}
              : {
                  heldBackScored: slice.count,
                  heldBackNe: slice.candidateNe,
                  heldBackParentNe: slice.baselineNe,
                  heldBackNeDiffStdErr: slice.diffStdErr,
                  heldBackCalibration: slice.candidateCalibration,
                  heldBackParentCalibration: slice.baselineCalibration,
                }),
            ...(anchorSlice === null
              ? {}
              : {
                  heldBackAnchorNe: anchorSlice.baselineNe,
                  heldBackAnchorNeDiffStdErr: anchorSlice.diffStdErr,
                }),
            freshnessSeconds,
            checkpointSeconds,
            gateSeconds,
            fenceSeconds,
            ...(snapshotSeconds === null ? {} : { snapshotSeconds }),
            handoverStep,
          }),
          widths: towerWidths(candidate),
          // The backend this process trained on, not the parent's: they differ when a worker
          // runs on another machine (or forgot to initialise tensorflow, issue 12 item 3).
          backend: activeBackend(),
          config: base.config,
          ...(skipped.length > 0 ? { skipped } : {}),
          ...(verdict === undefined ? {} : { gate: verdict }),
        },
        { expect: head },
      );
      head = published.version;
      versions.push(published.version);
      if (verdict?.held === true && published.dataRange.kind === 'recurring') {
        held.push({ version: published.version, reasons: verdict.reasons });
        skipped = [
          ...skipped,
          {
            version: published.version,
            fromOffsets: published.dataRange.fromOffsets,
            toOffsets: published.dataRange.toOffsets,
          },
        ];
        stop.abort(new Error(`${published.version} held by the publish gate`));
      } else {
        parent = published.version;
        parentManifest = published;
        skipped = [];
        baseline = gateBaseline(published);
        lastServed = published;
        lastSlice = request.heldBack;
      }
      options.onPublished?.(published);
      if (fellBehind !== null && published.dataRange.kind === 'recurring') {
        const revert = await publishRevert(registry, {
          model,
          of: parentManifest,
          restores: fellBehind.restores,
          reason: fellBehind.reason,
          offsets: published.dataRange.toOffsets,
          skipped,
          expect: published.version,
          heldBack: request.heldBack,
          stagingDir: publishStagingDir(options.workDir ?? tmpdir(), model, seq++),
        });
        reverted = {
          version: revert.version,
          of: parent,
          restores: fellBehind.restores,
          reason: fellBehind.reason,
        };
        head = revert.version;
        parent = revert.version;
        parentManifest = revert;
        skipped = [];
        versions.push(revert.version);
        options.onPublished?.(revert);
      }
      return verdict?.held === true ? null : published.version;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  /**
   * A version boundary: its state is copied (the embedding tables, on the training path) and
   * saved, gated and published in the background while training goes on; the window commits
   * its offsets once it is durable, and the next boundary waits for it. Served, the copy is the
   * next version's gate parent. A model too large to copy publishes from the trainer itself,
   * with training waiting (as before the background publish).
   */
  const publishVersion = async (request: PublishRequest): Promise<void | BackgroundPublish> => {
    // Its own-event figures end at its boundary, whatever trains while it publishes.
    const own = metrics.sinceVersion();
    metrics.startVersion();
    const copyStarted = performance.now();
    const copy = snapshots.capture(trainer);
    if (copy === undefined) {
      await publishFrom(trainer, request, own, null);
      return;
    }
    const snapshotSeconds = (performance.now() - copyStarted) / 1000;
    const durable = publishFrom(copy, request, own, snapshotSeconds).then(
      (served) => (served === null ? snapshots.release(copy) : snapshots.name(served, copy)),
      (error: unknown) => {
        snapshots.release(copy);
        throw error;
      },
    );
    // Its failure is the window's (src/stream/publish-in-flight.ts), never an unhandled one.
    durable.catch(() => undefined);
    return { durable };
  };

  let handedOver = false;
  try {
    const result = await runWindow(
      {
        kafka: deps.kafka,
        trainer,
        spec: loaded.spec,
        metrics,
        publishVersion,
      },
      {
        topic: options.topic,
        groupId: options.groupId,
        startOffsets,
        publishEveryEvents: options.eventsPerVersion,
        ...(options.exactVersions === undefined ? {} : { exactVersions: options.exactVersions }),
        publishEverySeconds: options.publishEverySeconds ?? 60,
        versions: options.versions,
        ...(options.windowSeconds === undefined ? {} : { windowSeconds: options.windowSeconds }),
        recordTrainedIds: options.recordTrainedIds ?? false,
        lrScale: () => lrAt(trainer.stepCount - handoverStep),
        ...(options.gate?.holdBack === undefined
          ? {}
          : { holdBack: options.gate.holdBack, initialHeldBack: loaded.heldBack }),
        ...(options.eventValidation === undefined
          ? {}
          : { eventValidation: options.eventValidation }),
        signal,
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      },
    );
    // Clean end right after a served version (no held version after it, nothing consumed
    // since): the trainer is that version, so the model's next window may start from it.
    // (Assigned in publishVersion's closure, which TypeScript's narrowing does not see.)
    // A window that published nothing and trained nothing (an idle topic) still holds `from`.
    const served = (lastServed as Manifest | null) ?? (versions.length === 0 ? base : null);
    if (options.trainers !== undefined && !result.dirty && held.length === 0 && served !== null) {
      const anchorModel = scorer.releaseAnchor();
      options.trainers.keep(model, {
        trainer,
        spec: loaded.spec,
        manifest: served,
        heldBack: lastSlice,
        snapshots,
        ...(anchorModel === undefined ? {} : { anchor: anchorModel }),
      });
      handedOver = true;
    }
    return {
      lastVersion: parent,
      versions,
      held,
      head: head ?? parent,
      ...(reverted === undefined ? {} : { reverted }),
      offsets: toManifestOffsets(result.offsets),
      consumed: result.stats.consumed,
      trained: result.stats.trained,
      deadLettered: result.stats.deadLettered,
      eventsPerSecond: result.eventsPerSecond,
      metrics: finiteMetrics(result.metrics),
      lag: result.lag,
      widths: towerWidths(trainer),
      timings: result.timings,
    };
  } finally {
    if (!handedOver) {
      trainer.dispose();
      snapshots.dispose();
    }
    scorer.dispose();
  }
}
