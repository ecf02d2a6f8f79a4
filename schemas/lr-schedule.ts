import { z } from 'zod';
import { AgpLength } from './agp-config';

/**
 * The learning-rate schedule of an offline run: every configured lr (dense and embeddings) is
 * multiplied by a factor that rises linearly over the first `warmup` steps, stays 1, and over
 * the last `decay` steps falls linearly to `decayTo` (the DLRM reference's warmup and decay,
 * with a linear decay). Lengths are steps (integers ≥ 1) or fractions of the run in [0, 1),
 * like the AGP schedule's. The recurring trainer always runs at the configured lr.
 */
export const LrSchedule = z.strictObject({
  /** Steps of linear warmup. @default 0 */
  warmup: AgpLength.default(0),
  /**
   * Steps of linear decay that end the run. @default 0.1 — at a constant lr 0.1 the reference
   * DLRM ends a pass with its mean prediction anywhere from 0.7× to 1.3× the base rate, depending
   * on the last few hundred batches; decaying over the last 10% settles it (synthetic
   * capacity-bound 200k rows, seeds 1–3: test NE 0.8680 → 0.8448, calibration within 1 ± 0.04).
   */
  decay: AgpLength.default(0.1),
  /** The factor reached at the last step of the decay. @default 0 */
  decayTo: z.number().min(0).max(1).default(0),
});
export type LrSchedule = z.infer<typeof LrSchedule>;
