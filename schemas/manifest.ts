import { z } from 'zod';
import { ResolvedWindow } from './training-window';

/**
 * A model's name in the registry. It is a directory name (and an object-store key prefix), so it is
 * restricted to path-safe characters.
 */
export const ModelName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'a model name is 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );
export type ModelName = z.infer<typeof ModelName>;

/**
 * A version id: `v` and a zero-padded, monotonically increasing number (`v000001`, `v000002`, …).
 * Numbers rather than timestamps because the registry allocates them (two publishers can never
 * get the same one, see src/registry/fs-store.ts) and a parent is always numerically smaller.
 * Six digits sort lexically up to 999999; beyond that the number simply grows a digit, so code
 * that orders versions must use `versionNumber` (src/registry/version.ts), never string order.
 */
export const ModelVersion = z
  .string()
  .regex(/^v\d{6,}$/, 'a version looks like v000001')
  .brand<'ModelVersion'>();
export type ModelVersion = z.infer<typeof ModelVersion>;

/** Which phase produced a version. */
export const ModelPhase = z.enum(['offline', 'recurring']);
export type ModelPhase = z.infer<typeof ModelPhase>;

/** A Kafka offset. kafkajs speaks int64 offsets as decimal strings; numbers are accepted too. */
const KafkaOffset = z.union([
  z.string().regex(/^\d+$/, 'an offset is a non-negative integer'),
  z
    .number()
    .int()
    .nonnegative()
    .transform((n) => String(n)),
]);

/** Next offset to consume per topic and partition: `{ topic: { "0": "1234", … } }`. */
export const KafkaOffsets = z.record(
  z.string().min(1),
  z.record(z.string().regex(/^\d+$/, 'a partition is a non-negative integer'), KafkaOffset),
);
export type KafkaOffsets = z.infer<typeof KafkaOffsets>;

/** An instant, stored as ISO-8601 UTC; epoch milliseconds are accepted and converted. */
const Instant = z.union([
  z.iso.datetime({ offset: true }),
  z.number().transform((ms) => new Date(ms).toISOString()),
]);

/** The data an offline version was trained on. */
export const OfflineDataRange = z.object({
  kind: z.literal('offline'),
  /** Free-form description of the source: a path, a preset name, a table. */
  source: z.string().min(1),
  rows: z.number().int().nonnegative(),
});

/** The events a recurring version was trained on: offsets [from, to) and their event times. */
export const RecurringDataRange = z.object({
  kind: z.literal('recurring'),
  fromOffsets: KafkaOffsets,
  /** Next offsets to consume: a trainer resuming from this version seeks here. */
  toOffsets: KafkaOffsets,
  /** Event-time span of the trained events; null when the window held no valid event. */
  eventTime: z.object({ min: Instant, max: Instant }).nullable(),
  events: z.number().int().nonnegative().optional(),
});

export const DataRange = z.discriminatedUnion('kind', [OfflineDataRange, RecurringDataRange]);
export type DataRange = z.infer<typeof DataRange>;

/**
 * A held version's offsets that the served lineage skipped: the next served version records
 * every held version it stepped over, so an auditor can account for every offset (served chain +
 * held versions cover the topic with no overlap and no gap).
 */
export const SkippedRange = z.object({
  version: ModelVersion,
  fromOffsets: KafkaOffsets,
  toOffsets: KafkaOffsets,
});
export type SkippedRange = z.infer<typeof SkippedRange>;

/**
 * The publish gate's verdict on a recurring version (src/pipeline/publish-gate.ts). A `held`
 * version is published (visible, auditable) but `latest` does not move to it: nothing that
 * follows `latest` ever loads it, until an operator promotes it.
 */
export const GateVerdict = z.object({
  held: z.boolean(),
  /** Why it was held (one line per failed check); empty when it passed. */
  reasons: z.array(z.string()),
  /** The version it was compared with (the served parent). */
  comparedWith: ModelVersion.nullable(),
  /**
   * The versions it was scored against on shared held-back events (the served parent and the
   * offline root of its chain); absent when the held-back check did not run.
   */
  judgedOn: z.array(ModelVersion).optional(),
  /** Held-back events the paired comparison used. */
  heldBackEvents: z.number().int().min(0).optional(),
  /** The offline version this chain descends from (the gate's second reference). */
  anchor: ModelVersion.nullable().optional(),
});
export type GateVerdict = z.infer<typeof GateVerdict>;

/** Why a version restores an earlier one's weights (see `ManifestFields.revert`). */
export const RevertRecord = z.object({
  of: ModelVersion,
  restores: ModelVersion,
  reason: z.string().min(1),
});
export type RevertRecord = z.infer<typeof RevertRecord>;

/**
 * A daily retraining's judgement of its candidate (src/pipeline/judge-on-window.ts): the
 * candidate and the version served when it was trained, scored on the same rows of the window's
 * test days (a paired comparison). The candidate passes unless its NE there exceeds the served
 * one's by more than `tolerance` × that NE plus two standard errors of the paired difference.
 */
export const CandidateJudgement = z.object({
  /** Passed: the candidate was published to be served; failed: published held, never served. */
  passed: z.boolean(),
  /** The served version it was compared with; null when there was none (a first run passes). */
  comparedWith: ModelVersion.nullable(),
  /** What it was scored on, e.g. `test days 2025-06-04 (412 rows)`. */
  on: z.string().min(1),
  /** Rows scored by both. */
  rows: z.number().int().nonnegative(),
  candidateNe: z.number().nullable(),
  /** The served version's NE on the same rows; null without one. */
  servedNe: z.number().nullable(),
  /** Standard error of the paired NE difference. */
  diffStdErr: z.number().nullable(),
  tolerance: z.number().min(0),
  /** One line: the decision and its figures. */
  reason: z.string().min(1),
});
export type CandidateJudgement = z.infer<typeof CandidateJudgement>;

/** One file of a version, relative to the version directory. */
export const ManifestFile = z.object({
  path: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lowercase hex digits'),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

/** Layer output widths of the dense towers when the version was taken (AGP changes them). */
export const TowerWidths = z.object({
  bottom: z.array(z.number().int().positive()),
  top: z.array(z.number().int().positive()),
});
export type TowerWidths = z.infer<typeof TowerWidths>;

/** Names the run that produced a version (see {@link ManifestFields} `runId`). */
export const RunId = z.string().min(1).max(1024);

/**
 * What a publisher says about a version. The registry adds the rest (model, version, createdAt,
 * files) when it publishes.
 */
export const ManifestFields = z
  .object({
    /**
     * The version this one was trained from; null for a model trained from scratch.
     * @default the model's current `latest` when omitted at publish time
     */
    parent: ModelVersion.nullable().optional(),
    phase: ModelPhase,
    /** Hash of the training configuration (src/registry/config-hash.ts). */
    configHash: z.string().min(1),
    dataRange: DataRange,
    /** Quality and volume figures: logloss, ne, auc, calibration, events, … (finite numbers: zod 4 rejects NaN and ±Infinity). */
    metrics: z.record(z.string().min(1), z.number()),
    widths: TowerWidths.optional(),
    /** The tfjs backend that produced it (`wasm`, `cpu`, `tensorflow`). */
    backend: z.string().min(1).optional(),
    /** The training configuration itself, for humans and for reproducing the run. */
    config: z.unknown().optional(),
    /** Held versions between the parent and this version, whose offsets this one skipped. */
    skipped: z.array(SkippedRange).optional(),
    /** The publish gate's verdict; a verdict with `held: true` publishes without moving `latest`. */
    gate: GateVerdict.optional(),
    /** The data window a scheduled retraining resolved (times; offsets or files with checksums). */
    window: ResolvedWindow.optional(),
    /** A daily candidate's judgement against the served version, on its window's test days. */
    judgement: CandidateJudgement.optional(),
    /**
     * The run that produced the version, when its publisher names one (an offline workflow
     * run: `<workflowId>/<runId>`, the same for every attempt). A retried attempt looks for it
     * before training and again before publishing, so one run publishes one version even when
     * a worker died between its publish and reporting it (src/pipeline/offline-run.ts).
     */
    runId: RunId.optional(),
    /**
     * A revert: the weights of `restores` (the version `of` replaced), published as the child of
     * `of` because the watch found `of` significantly worse than `restores` on held-back events
     * newer than `of`. `latest` moves back to the better weights without rewriting the chain.
     */
    revert: RevertRecord.optional(),
  })
  .superRefine((fields, ctx) => {
    if (fields.dataRange.kind !== fields.phase) {
      ctx.addIssue({
        code: 'custom',
        path: ['dataRange', 'kind'],
        message: `a ${fields.phase} version needs a '${fields.phase}' data range, got '${fields.dataRange.kind}'`,
      });
    }
  });
export type ManifestFields = z.infer<typeof ManifestFields>;
/** What callers pass to `publish` (offsets may be numbers, times may be epoch ms). */
export type ManifestFieldsInput = z.input<typeof ManifestFields>;

/** Version 1 of the manifest: `manifest.json` in every version directory, written last. */
export const ManifestV1 = z.object({
  v: z.literal(1),
  model: ModelName,
  version: ModelVersion,
  parent: ModelVersion.nullable(),
  phase: ModelPhase,
  configHash: z.string().min(1),
  dataRange: DataRange,
  metrics: z.record(z.string().min(1), z.number()),
  createdAt: z.iso.datetime({ offset: true }),
  files: z.array(ManifestFile),
  widths: TowerWidths.optional(),
  backend: z.string().min(1).optional(),
  config: z.unknown().optional(),
  skipped: z.array(SkippedRange).optional(),
  gate: GateVerdict.optional(),
  window: ResolvedWindow.optional(),
  judgement: CandidateJudgement.optional(),
  runId: RunId.optional(),
  revert: RevertRecord.optional(),
});

/** The immutable manifest of a version, discriminated on its format version `v`. */
export const Manifest = z.discriminatedUnion('v', [ManifestV1]);
export type Manifest = z.infer<typeof Manifest>;

/** One change of a model's mutable state, kept for the record (who moved what, and why). */
export const StateEvent = z.object({
  at: z.iso.datetime({ offset: true }),
  action: z.enum(['promote', 'rollback', 'discard', 'label', 'unlabel']),
  version: ModelVersion,
  /** For a label or unlabel: the label. */
  label: z.string().optional(),
  /** For a rollback: where `latest` pointed before. */
  from: ModelVersion.nullable().optional(),
  reason: z.string().optional(),
});
export type StateEvent = z.infer<typeof StateEvent>;

/**
 * A version label an operator sets in the registry (TF Serving's version labels, served at
 * `/v1/models/{m}/labels/{label}`): a letter first, so it never reads as a version number.
 */
export const VersionLabel = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    'a label is a letter followed by up to 63 letters, digits, ".", "_" or "-"',
  );
export type VersionLabel = z.infer<typeof VersionLabel>;

/**
 * The small mutable state file next to the immutable versions (`<model>/state.json`): which
 * versions are promoted (retention never deletes them), which held versions an operator
 * discarded, the version labels an operator set, and the history of promotions, discards,
 * rollbacks and label changes.
 */
export const ModelState = z.object({
  v: z.literal(1),
  promoted: z.array(ModelVersion),
  /** Held versions an operator discarded: never to be promoted (their offsets stay skipped). */
  discarded: z.array(ModelVersion).default([]),
  /** Version labels set with `agp registry label` (label → version). */
  labels: z.record(VersionLabel, ModelVersion).default({}),
  history: z.array(StateEvent),
});
export type ModelState = z.infer<typeof ModelState>;
