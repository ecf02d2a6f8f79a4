/** Predictions are clipped to [EPS, 1 - EPS] so one confident mistake costs a finite ~16 nats. */
export const LOG_LOSS_EPS = 1e-7;

/** Binary cross-entropy of one prediction `p` for label `y` (0/1), in nats, with clipping. */
export function binaryCrossEntropy(p: number, y: number): number {
  const q = p < LOG_LOSS_EPS ? LOG_LOSS_EPS : p > 1 - LOG_LOSS_EPS ? 1 - LOG_LOSS_EPS : p;
  return y > 0.5 ? -Math.log(q) : -Math.log(1 - q);
}

/** Entropy (nats) of a Bernoulli with rate `p`: the log loss of always predicting the base rate. */
export function bernoulliEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
}

/**
 * Mean log loss (binary cross-entropy, nats) of predicted click probabilities against 0/1
 * labels. NaN for an empty set.
 */
export function logLoss(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(preds, labels);
  let sum = 0;
  for (let i = 0; i < preds.length; i++)
    sum += binaryCrossEntropy(preds[i] as number, labels[i] as number);
  return sum / preds.length;
}

/**
 * Normalized entropy (He et al. 2014): log loss divided by the entropy of the TRAINING base rate
 * `trainBaseRate`, so 1 means "no better than always predicting the training click rate" and
 * lower is better. Without `trainBaseRate` it divides by the entropy of the labels' own rate
 * (the test-rate variant, `neTestRate` elsewhere). NaN when that entropy is 0.
 */
export function normalizedEntropy(
  preds: ArrayLike<number>,
  labels: ArrayLike<number>,
  trainBaseRate?: number,
): number {
  const h = bernoulliEntropy(trainBaseRate ?? mean(labels));
  return h > 0 ? logLoss(preds, labels) / h : NaN;
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s / xs.length;
}

/** Throws when predictions and labels differ in length (a caller's bug, not a data error). */
export function checkLengths(preds: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (preds.length !== labels.length) {
    throw new RangeError(`${preds.length} predictions but ${labels.length} labels`);
  }
}
