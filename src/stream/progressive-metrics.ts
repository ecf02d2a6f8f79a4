import { SlidingWindowMetrics } from '../metrics/sliding-window';
import type { ProgressiveMetrics } from './training-loop';

/**
 * Progressive validation for the recurring phase: every micro-batch is scored before it is
 * trained on, and the scores go into a sliding window of the last `windowSize` events.
 * Snapshots carry only finite numbers (a one-class window has no AUC), because manifests and
 * Temporal payloads are JSON.
 *
 * Snapshot keys: `logloss`, `ne` (standard: over the entropy of the base rate of the events
 * trained so far), `neTestRate` (over the window's own base rate), `auc`, `calibration` (mean prediction / mean label),
 * `baseRate`, `windowEvents` over the window; `cumulativeLogloss`, `cumulativeNe`, `scoredEvents`
 * since creation.
 *
 * @param windowSize - events in the window. @default 10_000
 */
export function createProgressiveMetrics(windowSize = 10_000): ProgressiveMetrics {
  const window = new SlidingWindowMetrics(windowSize);
  return {
    add: (predictions, labels) => window.push(predictions, labels),
    snapshot() {
      if (window.size === 0) return { windowEvents: 0, scoredEvents: 0 };
      const w = window.snapshot();
      const c = window.cumulative();
      const all: Record<string, number> = {
        logloss: w.logloss,
        ne: w.ne,
        neTestRate: w.neTestRate,
        auc: w.auc,
        calibration: w.calibration,
        baseRate: w.baseRate,
        windowEvents: w.count,
        cumulativeLogloss: c.logloss,
        cumulativeNe: c.ne,
        scoredEvents: c.count,
      };
      return Object.fromEntries(Object.entries(all).filter(([, v]) => Number.isFinite(v)));
    },
  };
}
