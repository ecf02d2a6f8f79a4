import { auc } from './auc';
import { calibration } from './calibration';
import { bernoulliEntropy, logLoss } from './log-loss';

/** Held-out quality of click probabilities. */
export interface BinaryMetrics {
  /** Rows evaluated. */
  count: number;
  /** Mean of the labels. */
  baseRate: number;
  /** Mean binary cross-entropy, nats. */
  logloss: number;
  /** logloss / entropy of baseRate (lower is better; 1 = predicting the base rate). */
  ne: number;
  /** Exact ROC AUC, ties as 1/2. */
  auc: number;
  /** Mean prediction / mean label. */
  calibration: number;
}

/** All the metrics of {@link BinaryMetrics} in one pass over predictions and 0/1 labels. */
export function evaluateBinary(preds: ArrayLike<number>, labels: ArrayLike<number>): BinaryMetrics {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] as number;
  const baseRate = pos / labels.length;
  const ll = logLoss(preds, labels);
  const h = bernoulliEntropy(baseRate);
  return {
    count: labels.length,
    baseRate,
    logloss: ll,
    ne: h > 0 ? ll / h : NaN,
    auc: auc(preds, labels),
    calibration: calibration(preds, labels),
  };
}
