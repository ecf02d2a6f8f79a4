export { auc } from './auc';
export { calibration } from './calibration';
export { evaluateBinary, normalize, type BinaryMetrics } from './evaluate';
export { bernoulliEntropy, binaryCrossEntropy, logLoss, normalizedEntropy } from './log-loss';
export { SlidingWindowMetrics } from './sliding-window';
