import { z } from 'zod';
import { parseOrThrow } from './zod-errors';

/**
 * Which training regime runs. `agp` alternates pruned and grown phases and ends full-width;
 * the baselines run through the same controller: `dense` never prunes, `prune-only` prunes once
 * after the warmup and stays small, `small-dense` trains at constant reduced widths whose FLOPs
 * match the `agp` schedule's average.
 */
export const AgpScheduleKind = z.enum(['dense', 'agp', 'prune-only', 'small-dense']);
export type AgpScheduleKind = z.infer<typeof AgpScheduleKind>;

/** How hidden neurons are ranked before a prune (DESIGN.md "Importance"). */
export const ImportanceKind = z.enum(['l2-inout', 'l2-in', 'taylor']);
export type ImportanceKind = z.infer<typeof ImportanceKind>;

/** How regrown neurons are initialised (DESIGN.md "Grow"). */
export const GrowthPolicy = z.enum(['split', 'zero-out', 'restore', 'random']);
export type GrowthPolicy = z.infer<typeof GrowthPolicy>;

/**
 * A length of the schedule: an integer ≥ 1 is a number of steps, a number in [0, 1) is a
 * fraction of the run (rounded down to whole steps). 0 means no steps.
 */
export const AgpLength = z
  .number()
  .nonnegative()
  .refine((v) => v < 1 || Number.isInteger(v), {
    message: 'a length is an integer number of steps (≥ 1) or a fraction of the run in [0, 1)',
  });
export type AgpLength = z.infer<typeof AgpLength>;

/** Fraction of a layer's hidden neurons removed while pruned. */
const Ratio = z.number().min(0).lt(1);

/** Name of a hidden layer, as `hiddenLayerName` writes it: `bottom.0`, `top.1`, … */
const HiddenLayerKey = z.string().regex(/^(bottom|top)\.\d+$/, {
  message: "a hidden layer name looks like 'bottom.0' or 'top.1'",
});

/**
 * The AGP configuration. Defaults: one cycle — dense for the first 5% of the steps, pruned (35%
 * of every hidden layer's neurons removed, lr scaled with width) for the next 85%, dense for the
 * last 10%, growing back with `split`. They won `npm run bench:agp`'s comparison of the evening
 * of 2026-11-26, on the graph training step (README, bench/results/agp.json): +0.06% NE vs dense
 * over seeds 1–3 at 0.73–0.81× the wall time (five full runs), against +0.14% for ratio 0.4 with 5% /
 * 75% / 20% (the defaults before), +0.21% for ratio 0.4 with 5% / 85% / 10%, and +0.2–0.5% for
 * ratios 0.45 and 0.5. For the reference DLRM (13-512-256-64-16 / 367-512-256-1) the pruned
 * model costs 0.52× the dense multiply-adds per step, so the run costs 0.593× dense
 * (src/agp/flops.ts; asserted ≤ 0.60× in test/unit/agp/flops.test.ts).
 */
export const AgpConfig = z.strictObject({
  /** @default 'agp' */
  schedule: AgpScheduleKind.default('agp'),
  /** @default 'l2-inout' */
  importance: ImportanceKind.default('l2-inout'),
  /**
   * @default 'split' — DESIGN.md: the default is the policy that wins the benchmark; in the
   * prototype that was `split`.
   */
  growth: GrowthPolicy.default('split'),
  /**
   * Fraction of neurons removed: one number for every hidden layer, or per layer
   * (`{ "bottom.0": 0.5, "top.0": 0.25 }`; a layer not listed is not pruned).
   * @default 0.35
   */
  ratio: z.union([Ratio, z.record(HiddenLayerKey, Ratio)]).default(0.35),
  /** Dense steps before the first prune. @default 0.05 */
  warmup: AgpLength.default(0.05),
  /** Number of prune/grow cycles. @default 1 */
  cycles: z.number().int().positive().default(1),
  /** Length of each pruned phase. @default 0.85 */
  prune: AgpLength.default(0.85),
  /** Length of the full-width phase between two pruned phases (unused with one cycle). @default 0 */
  grow: AgpLength.default(0),
  /** Minimum length of the full-width phase that ends the run. @default 0.1 */
  finalDense: AgpLength.default(0.1),
  /**
   * Gentle pruning: each pruned phase reaches its ratio over `ramp` prune events, the k-th
   * (k = 1..ramp) removing up to ratio × k / ramp, spread evenly over the phase's first half.
   * 1 = one abrupt prune (the prototype's).
   * @default 1
   */
  ramp: z.number().int().positive().default(1),
  /**
   * While pruned, multiply every learning rate by (sum of the full hidden widths) / (sum of the
   * current ones): 1.54 for the default ratio 0.35. In the standard parametrisation a narrower MLP
   * takes proportionally smaller steps in function space at the same lr, so the pruned model
   * would otherwise learn at about half the speed of the dense one (measured: see
   * bench/results/agp.json and the README's AGP section). `prune-only` follows it too; the
   * `small-dense` baseline trains at the configured lr like any small model.
   * @default true
   */
  widthScaledLr: z.boolean().default(true),
  /**
   * `small-dense` only: train at `full × widthMultiplier` on every layer the ratio prunes,
   * instead of the widths whose FLOPs match the `agp` schedule (the benchmark's frontier).
   */
  widthMultiplier: z.number().gt(0).max(1).optional(),
  /**
   * `agp` and `prune-only`: the training FLOPs the run may spend, as a fraction of the dense
   * run's (e.g. 0.6). The controller then picks the one `ratio` (same for every hidden layer,
   * replacing `ratio`) whose FLOPs, counted at the real rounded widths of this model and
   * schedule, come closest to it; a budget the schedule cannot reach within ±0.02 is an error.
   */
  flopsBudget: z.number().gt(0).lt(1).optional(),
  /**
   * With several cycles: the neurons a pruned phase removed are kept by the next prune, which
   * takes the least important of the others instead, so successive phases rest different
   * neurons and every neuron trains for most of the run (rotation, as in independent-subnetwork
   * training). With `growth: 'restore'` the rested neurons come back with their own weights and
   * optimizer state.
   * @default false
   */
  rotation: z.boolean().default(false),
  /**
   * A higher learning rate for regrown neurons (src/agp/regrown-lr.ts): after each grow event,
   * the updates of every weight that touches a regrown neuron are multiplied by `factor`,
   * decaying linearly to 1 over `steps` (a step count, or a fraction of the run). Unset or
   * factor 1: off (the default; what it gave is in src/agp/ALGORITHM.md).
   */
  regrownLr: z
    .strictObject({
      factor: z.number().min(1).max(100),
      steps: AgpLength,
    })
    .optional(),
  /** Noise of `split` growth, as a multiple of the std of the copied column. @default 0.01 */
  splitNoise: z.number().nonnegative().default(0.01),
  /** Number of recent batches the `taylor` importance averages over. @default 8 */
  taylorBatches: z.number().int().positive().default(8),
});
export type AgpConfig = z.infer<typeof AgpConfig>;
export type AgpConfigInput = z.input<typeof AgpConfig>;

/** Parses an AGP config, throwing a ConfigError that names each bad field. */
export function parseAgpConfig(input: unknown, where = 'agp config'): AgpConfig {
  return parseOrThrow(AgpConfig, input ?? {}, where);
}
