import { z } from 'zod';

/**
 * Synthetic Criteo-shaped data drawn from a planted teacher (src/data/synthetic). The logit of a
 * row is `bias + dense part + first-order embedding part + pairwise embedding part`; the three
 * parts are scaled so their variances split `logitStd²` by `denseShare` and `pairShare`.
 */
export const SyntheticPreset = z.enum(['capacity-bound', 'capacity-bound-v2', 'criteo-like']);
export type SyntheticPreset = z.infer<typeof SyntheticPreset>;

/** Which stream of the teacher's data: train and test share the teacher, not the rows. */
export const SyntheticSplit = z.enum(['train', 'test']);
export type SyntheticSplit = z.infer<typeof SyntheticSplit>;

/**
 * Drift of the rows at and after `startRow` (the recurring stage's stream; rows before it are
 * exactly the undrifted rows). Amounts grow with d = (row − startRow) / 100k, row by row
 * (src/data/SYNTHETIC.md, "Drift").
 */
export const SyntheticDrift = z.object({
  /** First drifting row (the end of the offline range). */
  startRow: z.number().int().min(0),
  /** Rotation of the teacher's dense input weights, radians per 100k rows. @default 0.15 */
  rotationPer100k: z.number().min(0).default(0.15),
  /** New values per categorical feature entering the Zipf head, per 100k rows. @default 10 */
  newValuesPer100k: z.number().min(0).default(10),
  /** Each new value takes the frequency of this Zipf rank (1 = the most frequent). @default 5 */
  newValueRank: z.number().min(1).default(5),
  /** At most this share of a feature's values are new ones. @default 0.5 */
  newValueMaxShare: z.number().min(0).max(1).default(0.5),
  /** Rows after `startRow` at which a new teacher component turns on. @default 500_000 */
  componentAfterRows: z.number().int().min(0).default(500_000),
  /** The new component's share of `logitStd²` (its std is √share·logitStd). @default 0.15 */
  componentShare: z.number().min(0).max(1).default(0.15),
  /** Shift of the teacher's bias (logit units) per 100k rows: a base-rate drift. @default 0.02 */
  baseRateShiftPer100k: z.number().default(0.02),
});
export type SyntheticDrift = z.infer<typeof SyntheticDrift>;
export type SyntheticDriftInput = z.input<typeof SyntheticDrift>;

/** Every knob of the generator, fully resolved (a preset plus overrides). */
export const SyntheticResolved = z
  .object({
    preset: SyntheticPreset,
    /** Seeds the teacher (unless `teacherSeed` is set) and the data streams. */
    seed: z.number().int(),
    teacherSeed: z.number().int(),
    split: SyntheticSplit,
    /** Rows in this split. */
    rows: z.number().int().positive(),
    numDense: z.number().int().min(1).max(256),
    numSparse: z.number().int().min(1).max(256),
    /** Distinct values of each categorical feature (one per feature). */
    cardinalities: z.array(z.number().int().min(2)),
    /** Zipf exponent s of the categorical value frequencies: P(rank k) ∝ 1/k^s. */
    zipfExponent: z.number().positive(),
    /** Target mean of the true click probability. */
    baseRate: z.number().gt(0).lt(1),
    /** Standard deviation of the teacher's logit (before the bias). */
    logitStd: z.number().positive(),
    /** Fraction of the logit variance that comes from the dense features through the teacher MLP. */
    denseShare: z.number().min(0).max(1),
    /** Of the embedding part's variance, the fraction from pairwise embedding interactions. */
    pairShare: z.number().min(0).max(1),
    /** Dimension of the teacher's per-category interaction vectors. */
    interactionDim: z.number().int().min(1).max(64),
    /** Hidden widths of the teacher MLP over the transformed dense features. */
    teacherHidden: z.array(z.number().int().positive()).min(1),
    /** Inputs per neuron in the teacher's 2nd+ hidden layers (0 = fully connected). */
    teacherFanIn: z.number().int().min(0),
    /**
     * Fraction of the dense part's variance that is linear in the (standardised) dense inputs;
     * the rest is the teacher MLP's nonlinear residual, which is what needs a wide student.
     */
    teacherLinearShare: z.number().min(0).max(1),
    /** Probability that a dense value is missing. */
    missingRate: z.number().min(0).lt(1),
    /**
     * Scales the log-normal dense counts (log-mean and log-std of every feature): 1 gives
     * Criteo-like magnitudes (log1p values up to ~10), smaller values give smaller counts.
     */
    countLogScale: z.number().positive().max(4),
    /** Hash buckets per distinct value (embedding rows = ceil(cardinality × this)). */
    bucketsPerCategory: z.number().min(1),
    /** Drift of the rows after the offline range; absent: a stationary stream. */
    drift: SyntheticDrift.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.cardinalities.length !== c.numSparse) {
      ctx.addIssue({
        code: 'custom',
        path: ['cardinalities'],
        message: `needs ${c.numSparse} entries (numSparse), got ${c.cardinalities.length}`,
      });
    }
  });
export type SyntheticResolved = z.infer<typeof SyntheticResolved>;

/** User-facing options: a preset and any overrides of its knobs (see {@link SyntheticResolved}). */
export const SyntheticOptions = z.strictObject({
  /** @default 'capacity-bound' */
  preset: SyntheticPreset.default('capacity-bound'),
  /** @default 1 */
  seed: z.number().int().default(1),
  /** @default seed */
  teacherSeed: z.number().int().optional(),
  /** @default 'train' */
  split: SyntheticSplit.default('train'),
  rows: z.number().int().positive(),
  numDense: z.number().int().min(1).max(256).optional(),
  numSparse: z.number().int().min(1).max(256).optional(),
  cardinalities: z.array(z.number().int().min(2)).optional(),
  /** Log-spaced cardinalities from min to max across the categorical features. */
  cardinalityRange: z.tuple([z.number().int().min(2), z.number().int().min(2)]).optional(),
  zipfExponent: z.number().positive().optional(),
  baseRate: z.number().gt(0).lt(1).optional(),
  logitStd: z.number().positive().optional(),
  denseShare: z.number().min(0).max(1).optional(),
  pairShare: z.number().min(0).max(1).optional(),
  interactionDim: z.number().int().min(1).max(64).optional(),
  teacherHidden: z.array(z.number().int().positive()).min(1).optional(),
  teacherFanIn: z.number().int().min(0).optional(),
  teacherLinearShare: z.number().min(0).max(1).optional(),
  missingRate: z.number().min(0).lt(1).optional(),
  countLogScale: z.number().positive().max(4).optional(),
  bucketsPerCategory: z.number().min(1).optional(),
  /** Drift of the rows from `drift.startRow` on; absent: no drift (the rows of every earlier run). */
  drift: SyntheticDrift.optional(),
});
export type SyntheticOptions = z.infer<typeof SyntheticOptions>;
export type SyntheticOptionsInput = z.input<typeof SyntheticOptions>;
