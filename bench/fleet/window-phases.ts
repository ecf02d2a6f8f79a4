import { defaultPayloadConverter } from '@temporalio/common';
import type { RecurringWindowResult } from '../../schemas/recurring-io';
import { WINDOW_PHASES } from '../../src/stream/window-timings';
import type { RecurringHandle } from '../../infra/fleet/windows';

/**
 * Where the recurring windows' time went (issue 23's table), from the `timings` every
 * `trainRecurringWindow` result carries (src/stream/window-timings.ts), read back from the
 * workflow's history: per window, per version and per event.
 */
export interface WindowPhases {
  windows: number;
  versions: number;
  events: number;
  /** Each phase's total over the windows, s. */
  totalSeconds: Record<string, number>;
  /** Each phase per window, ms. */
  perWindowMs: Record<string, number>;
  /** Each phase per version, ms. */
  perVersionMs: Record<string, number>;
  /** Each phase per trained event, µs. */
  perEventUs: Record<string, number>;
  /** Median over windows of the windows' median publish (boundary → durable), ms. */
  publishMedianMs: number;
}

/** Sums the timings of every window the workflow's current run completed. */
export async function windowPhases(handle: RecurringHandle): Promise<WindowPhases> {
  const history = await handle.fetchHistory();
  const results: RecurringWindowResult[] = [];
  for (const event of history.events ?? []) {
    const payload = event.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    if (payload === undefined) continue;
    const value = defaultPayloadConverter.fromPayload<Partial<RecurringWindowResult>>(payload);
    if (value !== null && typeof value === 'object' && value.timings !== undefined) {
      results.push(value as RecurringWindowResult);
    }
  }
  const total: Record<string, number> = Object.fromEntries(WINDOW_PHASES.map((p) => [p, 0]));
  let versions = 0;
  let events = 0;
  const medians: number[] = [];
  for (const r of results) {
    for (const [phase, ms] of Object.entries(r.timings?.phasesMs ?? {})) {
      total[phase] = (total[phase] ?? 0) + ms;
    }
    versions += r.timings?.publishes ?? 0;
    medians.push(r.timings?.publishMedianMs ?? 0);
    events += r.trained;
  }
  // A window's `trained` counts the events of earlier attempts too; without failover there are none.
  const per = (n: number, scale: number) =>
    Object.fromEntries(
      Object.entries(total).map(([p, ms]) => [
        p,
        n > 0 ? Number(((ms * scale) / n).toFixed(2)) : 0,
      ]),
    );
  medians.sort((a, b) => a - b);
  return {
    windows: results.length,
    versions,
    events,
    totalSeconds: Object.fromEntries(
      Object.entries(total).map(([p, ms]) => [p, Number((ms / 1000).toFixed(2))]),
    ),
    perWindowMs: per(results.length, 1),
    perVersionMs: per(versions, 1),
    perEventUs: per(events, 1000),
    publishMedianMs: medians[medians.length >> 1] ?? 0,
  };
}
