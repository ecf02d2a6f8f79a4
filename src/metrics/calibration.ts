import { checkLengths, mean } from './log-loss';

/**
 * Calibration: mean prediction divided by mean label (1 is perfectly calibrated on average;
 * above 1 over-predicts clicks). NaN when there are no positive labels.
 */
export function calibration(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(preds, labels);
  const m = mean(labels);
  return m > 0 ? mean(preds) / m : NaN;
}
