/*
 * The numerical guard of a training step: a batch whose loss or gradient is not finite, or whose
 * gradient norm jumps far above its recent scale, is skipped instead of applied. One bad batch
 * (an event with absurd feature values, a corrupt label burst) then costs that batch, not the
 * model: an update of 50× the usual size moves the weights further than hundreds of ordinary
 * steps can bring them back, and a NaN spreads to every weight it touches.
 *
 * The scale is an exponential moving average of the norms of the batches that were applied,
 * so skipped spikes never inflate it; during the first `warmupSteps` applied batches it is their
 * running mean and only the finiteness checks act.
 */

/** Settings of the guard. */
export interface StepGuardConfig {
  /** A batch whose gradient norm exceeds this × the running scale is skipped. @default 10 */
  spikeFactor: number;
  /** Applied batches that seed the running scale before spikes are judged. @default 8 */
  warmupSteps: number;
  /** Weight of the past in the running scale (≈ 1/(1 − decay) batches of memory). @default 0.95 */
  decay: number;
}

/** The defaults of {@link StepGuardConfig}. */
export const DEFAULT_STEP_GUARD: StepGuardConfig = { spikeFactor: 10, warmupSteps: 8, decay: 0.95 };

/** Why a batch was skipped: `kind` is stable (for counting), `detail` has the numbers. */
export interface SkipReason {
  kind: 'non-finite loss' | 'non-finite gradient' | 'gradient spike';
  detail: string;
}

/** Judges steps by their loss and gradient norm; owned by one training loop. */
export interface StepGuard {
  readonly config: StepGuardConfig;
  /**
   * The verdict on a step whose loss and global gradient L2 norm (dense weights and the
   * gathered embedding rows, unscaled by the learning rate) were computed but not yet applied.
   * An accepted step's norm updates the running scale; a skipped one's does not.
   */
  check(loss: number, gradNorm: number): SkipReason | undefined;
  /** The running gradient-norm scale (NaN before the first applied step). */
  readonly scale: number;
}

/** Creates a guard; `config` overrides the defaults field by field. */
export function createStepGuard(config: Partial<StepGuardConfig> = {}): StepGuard {
  const c: StepGuardConfig = { ...DEFAULT_STEP_GUARD, ...config };
  if (!(c.spikeFactor > 1)) throw new RangeError(`spikeFactor must be > 1, got ${c.spikeFactor}`);
  if (!(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 1))
    throw new RangeError(`warmupSteps must be a positive integer, got ${c.warmupSteps}`);
  if (!(c.decay >= 0 && c.decay < 1))
    throw new RangeError(`decay must be in [0, 1), got ${c.decay}`);
  let scale = Number.NaN;
  let applied = 0;
  return {
    config: c,
    check(loss, gradNorm) {
      if (!Number.isFinite(loss)) return { kind: 'non-finite loss', detail: `loss ${loss}` };
      if (!Number.isFinite(gradNorm))
        return { kind: 'non-finite gradient', detail: `gradient norm ${gradNorm}` };
      if (applied >= c.warmupSteps && gradNorm > c.spikeFactor * scale) {
        return {
          kind: 'gradient spike',
          detail: `gradient norm ${gradNorm.toPrecision(4)} > ${c.spikeFactor} × running scale ${scale.toPrecision(4)}`,
        };
      }
      applied++;
      scale =
        applied === 1
          ? gradNorm
          : applied <= c.warmupSteps
            ? scale + (gradNorm - scale) / applied
            : c.decay * scale + (1 - c.decay) * gradNorm;
      return undefined;
    },
    get scale() {
      return scale;
    },
  };
}

/** The reason text of a skipped batch's dead letters: `numerical guard: <kind>: <detail>`. */
export function skipReasonText(reason: SkipReason): string {
  return `numerical guard: ${reason.kind}: ${reason.detail}`;
}
