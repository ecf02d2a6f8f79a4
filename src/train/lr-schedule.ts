import type { LrSchedule } from '../../schemas/lr-schedule';
import { resolveLength } from '../agp/schedule';
import { ConfigError } from '../errors';

/** The lr factor of each step of a run, as a function of the 0-based step. */
export type LrFactor = (step: number) => number;

/**
 * The lr factor of a run of `totalSteps` steps: linear warmup from 1/warmup to 1, flat, then a
 * linear decay whose last step reaches `decayTo`. Pure, so a resumed run follows the same curve.
 */
export function lrFactorOf(schedule: LrSchedule, totalSteps: number): LrFactor {
  const warmup = resolveLength(schedule.warmup, totalSteps);
  const decay = resolveLength(schedule.decay, totalSteps);
  if (warmup + decay > totalSteps) {
    throw new ConfigError(
      `lrSchedule: warmup (${warmup} steps) and decay (${decay} steps) exceed the run's ${totalSteps} steps`,
    );
  }
  const decayStart = totalSteps - decay;
  return (step) => {
    let factor = 1;
    if (step < warmup) factor = (step + 1) / warmup;
    if (step >= decayStart) {
      const t = (step - decayStart + 1) / decay;
      factor = Math.min(factor, 1 - t * (1 - schedule.decayTo));
    }
    return factor;
  };
}
