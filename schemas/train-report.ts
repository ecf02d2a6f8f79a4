import { z } from 'zod';

/**
 * Held-out quality of a model: log loss, normalized entropy, AUC, calibration (mean p / mean y).
 * `ne` is the standard NE (log loss / entropy of the training base rate, He et al. 2014) in
 * reports written since issue 24; before, it divided by the test rate, now `neTestRate`.
 */
export const QualityMetrics = z.object({
  logloss: z.number(),
  ne: z.number(),
  /** log loss / entropy of the test rows' own base rate (absent in reports before issue 24). */
  neTestRate: z.number().optional(),
  auc: z.number(),
  calibration: z.number(),
});
export type QualityMetrics = z.infer<typeof QualityMetrics>;

/** Time and cost of one phase of the AGP schedule (warmup, pruned, grown, final). */
export const PhaseCost = z.object({
  phase: z.string(),
  steps: z.number().int(),
  flops: z.number(),
  wallSeconds: z.number(),
});
export type PhaseCost = z.infer<typeof PhaseCost>;

/** Rows a source skipped (`onInvalid: "skip"`): how many, and the first few with their reasons. */
export const SkippedRows = z.object({
  skipped: z.number().int(),
  /** The first skipped rows: `where` names the file and line or row, `problem` the column and what was wrong. */
  first: z.array(z.object({ where: z.string(), problem: z.string() })),
});
export type SkippedRows = z.infer<typeof SkippedRows>;

/**
 * What one offline training run reports (written as `report.json` next to `report.html`).
 * Curves are sampled every `curves.every` steps so a long run stays small.
 */
export const TrainReport = z.object({
  v: z.literal(1),
  schedule: z.string(),
  growth: z.string(),
  dataset: z.string(),
  seed: z.number().int(),
  backend: z.string(),
  startedAt: z.string(),
  steps: z.number().int(),
  batchSize: z.number().int(),
  rowsTrained: z.number().int(),
  wallSeconds: z.number(),
  samplesPerSecond: z.number(),
  trainFlops: z.number(),
  denseEquivalentFlops: z.number(),
  /** 1 − trainFlops / denseEquivalentFlops. */
  flopSaving: z.number(),
  phases: z.array(PhaseCost),
  fullWidths: z.record(z.string(), z.number().int()),
  finalWidths: z.record(z.string(), z.number().int()),
  test: QualityMetrics.extend({
    rows: z.number().int(),
    /** Label mean of the training rows: the rate `ne` is normalized by (absent before issue 24). */
    trainBaseRate: z.number().optional(),
    /** Label mean of the test rows (absent before issue 24). */
    testBaseRate: z.number().optional(),
  }),
  /** Malformed rows skipped by the train and test sources (absent in reports from before issue 13). */
  invalidRows: z.object({ train: SkippedRows, test: SkippedRows }).optional(),
  bayes: z.object({ logloss: z.number(), auc: z.number() }).nullable(),
  /**
   * With `data.validation`: NE per epoch on the validation rows (null while pruned: not a
   * candidate), the 1-based epoch whose weights were kept, and whether training stopped early.
   */
  validation: z
    .object({
      bestEpoch: z.number().int().nullable(),
      stoppedEarly: z.boolean(),
      epochs: z.array(
        z.object({ epoch: z.number().int(), ne: z.number().nullable(), rows: z.number().int() }),
      ),
    })
    .optional(),
  curves: z.object({
    every: z.number().int(),
    step: z.array(z.number()),
    loss: z.array(z.number()),
    cumFlops: z.array(z.number()),
    cumDenseFlops: z.array(z.number()),
    widths: z.record(z.string(), z.array(z.number())),
    /**
     * Which rows the `eval` points are scored on: the validation rows when the run has them (the
     * test rows are then read once, at the end), else the test rows. Absent before issue 24 (test).
     */
    evalOn: z.enum(['test', 'validation']).optional(),
    eval: z.array(
      z.object({
        step: z.number(),
        ne: z.number(),
        logloss: z.number(),
        auc: z.number().optional(),
        calibration: z.number().optional(),
      }),
    ),
  }),
});
export type TrainReport = z.infer<typeof TrainReport>;
