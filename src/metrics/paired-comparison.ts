import { bernoulliEntropy, binaryCrossEntropy, checkLengths, mean } from './log-loss';

/** Two models' NE and calibration on the same events, with the errors the gate needs. */
export interface PairedComparison {
  /** Events scored by both. */
  count: number;
  candidateNe: number;
  baselineNe: number;
  /** candidateNe − baselineNe (positive: the candidate is worse). */
  diff: number;
  /**
   * Standard error of `diff` from the per-event log-loss differences. Pairing cancels the
   * events' own difficulty, so it is far smaller than the two NEs' errors in quadrature: a few
   * hundred shared events separate models that a thousand unshared ones cannot.
   */
  diffStdErr: number;
  /** Mean prediction / mean label of each. */
  candidateCalibration: number;
  baselineCalibration: number;
  /**
   * Relative standard error of the label mean (binomial noise), which both calibrations share:
   * the true click rate may be this much higher or lower, moving both by the same factor.
   */
  labelMeanRelStdErr: number;
}

/**
 * Compares two models' predictions on the same labelled events. Null when the labels are all one
 * class (NE is undefined) or there are fewer than two events.
 */
export function pairedComparison(
  candidate: ArrayLike<number>,
  baseline: ArrayLike<number>,
  labels: ArrayLike<number>,
): PairedComparison | null {
  checkLengths(candidate, labels);
  checkLengths(baseline, labels);
  const n = labels.length;
  if (n < 2) return null;
  const h = bernoulliEntropy(mean(labels));
  if (h === 0) return null;
  let sumC = 0;
  let sumB = 0;
  let predC = 0;
  let predB = 0;
  let sumD = 0;
  let sumD2 = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    predC += candidate[i] as number;
    predB += baseline[i] as number;
    const c = binaryCrossEntropy(candidate[i] as number, y);
    const b = binaryCrossEntropy(baseline[i] as number, y);
    sumC += c;
    sumB += b;
    sumD += c - b;
    sumD2 += (c - b) * (c - b);
  }
  const meanD = sumD / n;
  const sumLabel = mean(labels) * n;
  const noise = Math.sqrt((1 - sumLabel / n) / sumLabel);
  const varD = Math.max(0, (sumD2 - n * meanD * meanD) / (n - 1));
  return {
    count: n,
    candidateNe: sumC / n / h,
    baselineNe: sumB / n / h,
    diff: meanD / h,
    diffStdErr: Math.sqrt(varD / n) / h,
    candidateCalibration: predC / sumLabel,
    baselineCalibration: predB / sumLabel,
    labelMeanRelStdErr: noise,
  };
}
