import { auc } from './auc';
import { calibration } from './calibration';
import { bernoulliEntropy, logLoss } from './log-loss';

/** Held-out quality of click probabilities. */
export interface BinaryMetrics {
  /** Rows evaluated. */
  count: number;
  /** Mean of the evaluated labels (the test base rate). */
  baseRate: number;
  /**
   * The base rate `ne` divides by: the training rows' label mean when the caller knows it
   * (the standard NE), else `baseRate`.
   */
  neBaseRate: number;
  /** Mean binary cross-entropy, nats. */
  logloss: number;
  /**
   * Normalized entropy (He et al. 2014): logloss / entropy of the TRAINING base rate, i.e. the
   * log loss relative to a model that always predicts the training click rate (lower is
   * better). Equals `neTestRate` when no training rate was given.
   */
  ne: number;
  /**
   * logloss / entropy of the evaluated labels' own base rate. Where the rate shifts between
   * training and test it flatters the model (the denominator already "knows" the test rate);
   * kept for comparison with figures computed that way.
   */
  neTestRate: number;
  /** Exact ROC AUC, ties as 1/2. */
  auc: number;
  /** Mean prediction / mean label. */
  calibration: number;
}

/**
 * All the metrics of {@link BinaryMetrics} in one pass over predictions and 0/1 labels.
 * `trainBaseRate` is the label mean of the rows the model was trained on; without it `ne` falls
 * back to the test rate (as when two models are compared on the same slice, where the
 * denominator is common to both and cancels).
 */
export function evaluateBinary(
  preds: ArrayLike<number>,
  labels: ArrayLike<number>,
  trainBaseRate?: number,
): BinaryMetrics {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] as number;
  const baseRate = pos / labels.length;
  const ll = logLoss(preds, labels);
  const neBaseRate = trainBaseRate ?? baseRate;
  return {
    count: labels.length,
    baseRate,
    neBaseRate,
    logloss: ll,
    ne: normalize(ll, neBaseRate),
    neTestRate: normalize(ll, baseRate),
    auc: auc(preds, labels),
    calibration: calibration(preds, labels),
  };
}

/** `logloss` over the entropy of `rate`; NaN when that entropy is 0 (a one-class reference). */
export function normalize(logloss: number, rate: number): number {
  const h = bernoulliEntropy(rate);
  return h > 0 ? logloss / h : NaN;
}
