import type { RecurringOptimizer } from '../../schemas/recurring-optimizer';
import { ConfigError } from '../errors';

/** The lr factor of the recurring phase as a function of the steps since the hand-over. */
export type RecurringLrScale = (stepsSinceHandover: number) => number;

/** What the policy needs of the model it continues. */
export interface RecurringLrContext {
  /** The dense optimizer's configured learning rate (what the trainer's lrScale multiplies). */
  configuredLr: number;
  /** The factor the offline lr schedule ended at (`lrSchedule.decayTo`), if known. */
  offlineFinalFactor?: number | undefined;
}

/**
 * Resolves `recurring.optimizer` for one model into the factor of every recurring step. Pure, so
 * a resumed window follows the same curve: the step count comes from the checkpoint.
 */
export function recurringLrScale(
  optimizer: RecurringOptimizer,
  ctx: RecurringLrContext,
): RecurringLrScale {
  switch (optimizer.schedule) {
    case 'constant': {
      const k = optimizer.scale * ((optimizer.baseLr ?? ctx.configuredLr) / ctx.configuredLr);
      return () => k;
    }
    case 'final': {
      const f = ctx.offlineFinalFactor;
      if (f === undefined || f <= 0) {
        throw new ConfigError(
          `recurring.optimizer 'final': the offline lr schedule ended at ${f === undefined ? 'an unknown rate' : 'factor 0'}, which would freeze the model; use 'constant' or 'warm-restart'`,
        );
      }
      return () => f;
    }
    case 'warm-restart': {
      const base = (optimizer.baseLr ?? ctx.configuredLr) / ctx.configuredLr;
      const { scale, finalScale, decaySteps } = optimizer;
      return (n) => {
        const t = Math.min(1, Math.max(0, n) / decaySteps);
        return base * (scale + (finalScale - scale) * t);
      };
    }
  }
}

/** The offline schedule's final factor from a version's stored config (`{ train: TrainConfig }`). */
export function offlineFinalFactorOf(versionConfig: unknown): number | undefined {
  const train = (versionConfig as { train?: { lrSchedule?: { decayTo?: unknown } } } | undefined)
    ?.train;
  const f = train?.lrSchedule?.decayTo;
  return typeof f === 'number' ? f : undefined;
}

/**
 * The trainer step count at the hand-over of the model a window starts from: the step count of
 * an offline version itself, or the `handoverStep` a recurring version's manifest carries. A
 * recurring version without one (published before the setting existed) counts as long past it.
 */
export function handoverStepOf(
  base: { phase: 'offline' | 'recurring'; metrics: Record<string, number> },
  stepCount: number,
): number {
  if (base.phase === 'offline') return stepCount;
  return base.metrics.handoverStep ?? Number.NEGATIVE_INFINITY;
}
