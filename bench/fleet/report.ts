import type { WindowPhases } from './window-phases';
import type { RegistryTiming } from './registry-timing';

/**
 * `bench/results/fleet.json`. The required fields keep issue 15's names exactly (other tools
 * read them); the rest say how each figure was taken.
 */
export interface FleetReport {
  machine: string;
  command: string;
  startedAt: string;
  totalSeconds: number;
  settings: Record<string, unknown>;
  /** What each figure means, in words. */
  definitions: Record<string, string>;
  fleet: {
    workers: number;
    models: number;
    eventsPerSecond: number;
    intervalSeconds: number;
    perModel: { model: string; eventsPerSecond: number; versions: number }[];
    placement: Record<string, number>;
    backlogLimited: boolean;
  }[];
  failover: {
    what: string;
    secondsToResume: number;
    eventsLost: number;
    eventsDuplicated: number;
    secondsToRetry: number | null;
    midWindow: boolean;
    takenBy: string;
    auditProblems: string[];
    unseenVersions: number;
    versionsAudited: number;
  }[];
  registry: RegistryTiming[];
  recurringVsOffline: {
    recurringEventsPerSecond: number;
    offlineSamplesPerSecond: number;
    ratio: number;
    /** The same model trained offline at full width (agp.schedule dense), and the ratio to it. */
    offlineDenseSamplesPerSecond?: number | undefined;
    ratioToDense?: number | undefined;
    batchSize: number;
    offlineSchedule: string;
    offlineRows: number;
    /** The recurring workflow's own figure for its last window (statusQuery). */
    lastWindowEventsPerSecond: number;
    intervalSeconds: number;
    backlogLimited: boolean;
    /** Where the windows' time went (every window of the run, warm-up included). */
    phases?: WindowPhases | undefined;
    /** Medians of the publish's own steps (manifest metrics), ms. */
    publishSteps?: Record<string, number> | undefined;
    /** The same with fewer, larger versions and several per window. */
    atCadence: {
      eventsPerVersion: number;
      windowVersions: number;
      recurringEventsPerSecond: number;
      ratio: number;
      ratioToDense?: number | undefined;
      intervalSeconds: number;
      backlogLimited: boolean;
      phases?: WindowPhases | undefined;
      publishSteps?: Record<string, number> | undefined;
    };
  };
}

/** `train 2,100 ms/version (71.3 µs/event), publishWait …` for one cadence's phases. */
function phaseLines(
  p: WindowPhases | undefined,
  steps: Record<string, number> | undefined,
): string[] {
  if (p === undefined || p.windows === 0) return ['    (no window timings)'];
  const stepText = Object.entries(steps ?? {})
    .map(([k, ms]) => `${k.replace('Ms', '')} ${ms}`)
    .join(', ');
  const lines = [
    `    ${p.windows} windows, ${p.versions} versions, ${n0(p.events)} events; publish (boundary → durable) median ${n0(p.publishMedianMs)} ms`,
    `    of which (medians, ms): ${stepText || 'not recorded'}`,
    '    phase          s total  ms/window  ms/version  µs/event',
  ];
  for (const [phase, s] of Object.entries(p.totalSeconds)) {
    lines.push(
      `    ${phase.padEnd(13)}  ${s.toFixed(1).padStart(7)}  ${n0(p.perWindowMs[phase] ?? 0).padStart(9)}  ` +
        `${n0(p.perVersionMs[phase] ?? 0).padStart(10)}  ${(p.perEventUs[phase] ?? 0).toFixed(1).padStart(8)}`,
    );
  }
  return lines;
}

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const n2 = (x: number | null): string => (x === null ? '—' : x.toFixed(2));

/** The summary a reader wants from the run: one table per part. */
export function summaryTable(r: FleetReport): string {
  const lines: string[] = [`\nbench:fleet — ${r.machine}`, ''];
  const base = r.fleet[0]?.eventsPerSecond ?? 0;
  lines.push('fleet (3 recurring workflows, throughput-bound on backlogs)');
  lines.push('  workers  models  events/s  × 1 worker  interval s  placement');
  for (const f of r.fleet) {
    const placement = Object.entries(f.placement)
      .map(([w, s]) => `${w} ${s}`)
      .join(', ');
    lines.push(
      `  ${String(f.workers).padStart(7)}  ${String(f.models).padStart(6)}  ${n0(f.eventsPerSecond).padStart(8)}  ` +
        `${(base > 0 ? (f.eventsPerSecond / base).toFixed(2) : '—').padStart(10)}  ` +
        `${f.intervalSeconds.toFixed(0).padStart(10)}  ${placement}${f.backlogLimited ? '  (backlog ran low: interval cut)' : ''}`,
    );
  }
  lines.push('', 'failover (SIGKILL of the worker running a window)');
  lines.push('  resume s  retry s  lost  duplicated  what');
  for (const f of r.failover) {
    lines.push(
      `  ${n2(f.secondsToResume).padStart(8)}  ${n2(f.secondsToRetry).padStart(7)}  ${String(f.eventsLost).padStart(4)}  ` +
        `${String(f.eventsDuplicated).padStart(10)}  ${f.what}`,
    );
  }
  lines.push('', 'registry (reference model, medians)');
  lines.push('  store  publish s  fetch s     MB  repetitions');
  for (const g of r.registry) {
    lines.push(
      `  ${g.store.padEnd(5)}  ${n2(g.publishSeconds).padStart(9)}  ${n2(g.fetchSeconds).padStart(7)}  ` +
        `${(g.bytes / 1e6).toFixed(1).padStart(5)}  ${g.repetitions}`,
    );
  }
  const v = r.recurringVsOffline;
  lines.push(
    '',
    `recurring vs offline (batch ${v.batchSize}, one worker): recurring ${n0(v.recurringEventsPerSecond)} events/s ` +
      `(last window ${n0(v.lastWindowEventsPerSecond)}), offline ${n0(v.offlineSamplesPerSecond)} samples/s ` +
      `(${v.offlineSchedule}), ratio ${v.ratio.toFixed(2)}; offline dense (full width) ` +
      `${n0(v.offlineDenseSamplesPerSecond ?? NaN)} samples/s, ratio ${v.ratioToDense?.toFixed(2) ?? '—'}`,
    ...phaseLines(v.phases, v.publishSteps),
    `  at ${n0(v.atCadence.eventsPerVersion)} events per version, ${v.atCadence.windowVersions} per window: ` +
      `recurring ${n0(v.atCadence.recurringEventsPerSecond)} events/s, ratio ${v.atCadence.ratio.toFixed(2)} ` +
      `(to dense ${v.atCadence.ratioToDense?.toFixed(2) ?? '—'})`,
    ...phaseLines(v.atCadence.phases, v.atCadence.publishSteps),
    '',
    `total ${(r.totalSeconds / 60).toFixed(1)} min`,
  );
  return lines.join('\n');
}
