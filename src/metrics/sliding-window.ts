import { auc } from './auc';
import { normalize, type BinaryMetrics } from './evaluate';
import { bernoulliEntropy, binaryCrossEntropy } from './log-loss';

/**
 * Streaming metrics over the last `capacity` events (progressive validation in the recurring
 * trainer: each batch is scored, then pushed here, then trained on). Log loss, NE and
 * calibration are O(1) per event from running sums; AUC is exact over the window, computed on
 * demand in O(N log N). Also keeps totals since creation for the cumulative log loss.
 */
export class SlidingWindowMetrics {
  private readonly preds: Float64Array;
  private readonly labels: Uint8Array;
  private readonly losses: Float64Array;
  private head = 0;
  private filled = 0;
  private sumLoss = 0;
  private sumPred = 0;
  private sumLabel = 0;
  private sinceResum = 0;
  /** Events seen since creation. */
  totalCount = 0;
  /** Sum of log losses since creation. */
  totalLoss = 0;
  /** Sum of labels since creation. */
  totalPositives = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`window capacity must be a positive integer, got ${capacity}`);
    }
    this.preds = new Float64Array(capacity);
    this.labels = new Uint8Array(capacity);
    this.losses = new Float64Array(capacity);
  }

  /** Adds events (predicted probability, 0/1 label), evicting the oldest beyond capacity. */
  push(preds: ArrayLike<number>, labels: ArrayLike<number>): void {
    if (preds.length !== labels.length) {
      throw new RangeError(`${preds.length} predictions but ${labels.length} labels`);
    }
    for (let i = 0; i < preds.length; i++) {
      const p = preds[i] as number;
      const y = (labels[i] as number) > 0.5 ? 1 : 0;
      const loss = binaryCrossEntropy(p, y);
      if (this.filled === this.capacity) {
        this.sumLoss -= this.losses[this.head] as number;
        this.sumPred -= this.preds[this.head] as number;
        this.sumLabel -= this.labels[this.head] as number;
      } else {
        this.filled++;
      }
      this.preds[this.head] = p;
      this.labels[this.head] = y;
      this.losses[this.head] = loss;
      this.sumLoss += loss;
      this.sumPred += p;
      this.sumLabel += y;
      this.head = (this.head + 1) % this.capacity;
      this.totalCount++;
      this.totalLoss += loss;
      this.totalPositives += y;
    }
    // Adding and subtracting drifts; re-add the window from scratch once per window length.
    this.sinceResum += preds.length;
    if (this.sinceResum >= this.capacity) this.resum();
  }

  /** Events currently in the window. */
  get size(): number {
    return this.filled;
  }

  /**
   * Metrics over the window; NaN fields when the window is empty or one-class. `ne` is the
   * standard NE: the window's log loss over the entropy of the training base rate, which in
   * progressive validation is the label mean of every event pushed so far (each is trained on
   * right after it is scored); `neTestRate` divides by the window's own rate. `neStdErr` is
   * the standard error of `ne` (the spread of the per-event losses over √n), so a reader can
   * tell a regression from the noise of a small window.
   */
  snapshot(): BinaryMetrics & { neStdErr: number; calibrationStdErr: number } {
    const n = this.filled;
    const baseRate = this.sumLabel / n;
    const logloss = this.sumLoss / n;
    const trainRate = this.totalCount > 0 ? this.totalPositives / this.totalCount : NaN;
    const h = bernoulliEntropy(trainRate);
    let squares = 0;
    for (let i = 0; i < n; i++) squares += ((this.losses[i] as number) - logloss) ** 2;
    const lossStdErr = n > 1 ? Math.sqrt(squares / (n - 1) / n) : NaN;
    return {
      count: n,
      baseRate,
      neBaseRate: trainRate,
      logloss,
      ne: h > 0 ? logloss / h : NaN,
      neTestRate: normalize(logloss, baseRate),
      neStdErr: h > 0 ? lossStdErr / h : NaN,
      // Mean prediction / mean label: the label mean's binomial noise dominates its error.
      calibrationStdErr:
        this.sumLabel > 0
          ? (this.sumPred / this.sumLabel) * Math.sqrt((1 - baseRate) / this.sumLabel)
          : NaN,
      auc: n > 0 ? auc(this.preds.subarray(0, n), this.labels.subarray(0, n)) : NaN,
      calibration: this.sumLabel > 0 ? this.sumPred / this.sumLabel : NaN,
    };
  }

  /** Cumulative log loss and NE since creation (no window). */
  cumulative(): { count: number; logloss: number; ne: number } {
    const logloss = this.totalLoss / this.totalCount;
    const h = bernoulliEntropy(this.totalPositives / this.totalCount);
    return { count: this.totalCount, logloss, ne: h > 0 ? logloss / h : NaN };
  }

  private resum(): void {
    let l = 0;
    let p = 0;
    let y = 0;
    for (let i = 0; i < this.filled; i++) {
      l += this.losses[i] as number;
      p += this.preds[i] as number;
      y += this.labels[i] as number;
    }
    this.sumLoss = l;
    this.sumPred = p;
    this.sumLabel = y;
    this.sinceResum = 0;
  }
}
