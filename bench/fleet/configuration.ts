import { sleep } from '../../infra/process';
import { pauseSignal, statusQuery } from '../../workflows/messages';
import { auditRun, killMidWindow, type FailoverTiming, type RunAudit } from './failover';
import { cloneVersion, startRecurring, type Fleet, type RecurringSettings } from './harness';
import { startManifestLog, type ManifestLog } from './manifest-log';
import { windowPhases, type WindowPhases } from './window-phases';
import {
  measureInterval,
  type IntervalOptions,
  type IntervalRate,
  type RunningModel,
} from './throughput';

/** One configuration: `workers` worker processes training `models` from one offline version. */
export interface Configuration {
  workers: number;
  models: { model: string; topic: string }[];
  /** The offline model and version every model starts from (a copy of it each). */
  offline: { model: string; version: string };
  settings: RecurringSettings;
  interval: IntervalOptions;
  /** SIGKILL the worker of a running window after the interval. */
  failover: boolean;
}

export interface ConfigurationResult {
  rate: IntervalRate;
  failover: FailoverTiming | null;
  audit: RunAudit;
  /** Per model, the workflow's own events/s of its last window (statusQuery). */
  lastWindowEventsPerSecond: number[];
  /** Models the publish gate paused during the run (their rate is not throughput-bound). */
  pausedByGate: string[];
  /** Per model, where its windows' time went (from the windows' results). */
  phases: WindowPhases[];
  /** Per model, medians over its recurring versions of the publish's own steps, ms. */
  publishSteps: Record<string, number>[];
}

/** The publish steps a recurring manifest times (src/pipeline/recurring-window.ts). */
const PUBLISH_STEPS = ['snapshotSeconds', 'checkpointSeconds', 'gateSeconds', 'fenceSeconds'];

function publishStepMedians(log: ManifestLog, model: string): Record<string, number> {
  const out: Record<string, number> = {};
  const manifests = log.of(model).filter((m) => m.phase === 'recurring');
  for (const step of PUBLISH_STEPS) {
    const xs = manifests
      .map((m) => m.metrics[step])
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    if (xs.length > 0)
      out[step.replace('Seconds', 'Ms')] = Math.round((xs[xs.length >> 1] ?? 0) * 1000);
  }
  return out;
}

/**
 * Runs one configuration: the workers, a copy of the offline version per model, a recurring
 * workflow per model on its backlog, the interval, the optional failover, then pauses the
 * workflows (between windows), terminates them and audits every version they published.
 */
export async function runConfiguration(
  fleet: Fleet,
  c: Configuration,
  say: (line: string) => void,
): Promise<ConfigurationResult> {
  await fleet.ensureWorkers(c.workers);
  const firstVersions = new Map<string, string>();
  for (const { model } of c.models) {
    firstVersions.set(
      model,
      await cloneVersion(fleet.registry, c.offline.model, c.offline.version, model),
    );
  }
  const log = startManifestLog(
    fleet.registry,
    c.models.map((m) => m.model),
  );
  const running: RunningModel[] = [];
  const diagnose = (): Promise<string> => describeRun(fleet, running, log);
  try {
    for (const m of c.models) {
      const handle = await startRecurring(
        fleet,
        { ...m, fromVersion: firstVersions.get(m.model) ?? '' },
        c.settings,
      );
      running.push({ ...m, handle });
    }
    const rate = await measureInterval(fleet, running, log, c.interval, diagnose);
    say(
      `${c.workers} worker(s), ${c.models.length} model(s): ${Math.round(rate.eventsPerSecond)} events/s over ` +
        `${rate.seconds.toFixed(0)} s; windows on ${JSON.stringify(rate.placement)}`,
    );
    const failover = c.failover ? await killMidWindow(fleet, running, diagnose) : null;
    if (failover) {
      say(
        `failover: worker ${failover.victim} SIGKILLed ${failover.midWindow ? 'mid-window' : 'at the end of its window'} of ${failover.model}; ` +
          `${failover.version} ${failover.secondsToResume.toFixed(1)} s later (window retried on ${failover.takenBy} after ${failover.secondsToRetry?.toFixed(1) ?? '?'} s)`,
      );
    }
    const statuses = await Promise.all(running.map((m) => m.handle.query(statusQuery)));
    await stopBetweenWindows(running);
    const phases = await Promise.all(running.map((m) => windowPhases(m.handle)));
    await log.refresh();
    const audit = auditRun(running, log);
    say(
      `audit: ${audit.versions} versions, ${audit.eventsLost} events lost, ${audit.eventsDuplicated} duplicated, ` +
        `${audit.problems.length} chain problems, ${audit.unseenVersions} version numbers unseen`,
    );
    return {
      rate,
      failover,
      audit,
      lastWindowEventsPerSecond: statuses.map((s) => s.eventsPerSecond),
      pausedByGate: statuses.filter((s) => s.pausedReason !== null).map((s) => s.model),
      phases,
      publishSteps: c.models.map((m) => publishStepMedians(log, m.model)),
    };
  } finally {
    await Promise.all(
      running.map((m) =>
        m.handle.terminate('bench:fleet configuration over').catch(() => undefined),
      ),
    );
    await log.stop();
  }
}

/**
 * Pauses the workflows (a pause takes effect between windows) and waits until none has a
 * window running, so no training of this configuration goes on into the next one.
 */
async function stopBetweenWindows(running: readonly RunningModel[]): Promise<void> {
  await Promise.all(running.map((m) => m.handle.signal(pauseSignal)));
  const deadline = Date.now() + 120_000;
  for (const m of running) {
    while (Date.now() < deadline) {
      const d = await m.handle.describe();
      if ((d.raw.pendingActivities ?? []).length === 0) break;
      await sleep(500);
    }
  }
}

/** Where each model's workflow and window are, and the workers' last output, for a stuck run. */
async function describeRun(
  fleet: Fleet,
  running: readonly RunningModel[],
  log: ManifestLog,
): Promise<string> {
  const lines: string[] = [];
  for (const m of running) {
    const d = await m.handle.describe().catch(() => undefined);
    const pending = (d?.raw.pendingActivities ?? [])
      .map(
        (a) =>
          `${a.activityType?.name} attempt ${a.attempt} on ${fleet.nameOf(a.lastWorkerIdentity ?? undefined)}, ` +
          `last failure ${a.lastFailure?.message ?? 'none'}`,
      )
      .join('; ');
    lines.push(
      `${m.model}: ${d?.status.name ?? '?'}, ${log.of(m.model).length} versions; ${pending || 'no pending activity'}`,
    );
  }
  for (const w of fleet.live()) lines.push(`worker pid ${w.pid}:\n${w.output().slice(-1500)}`);
  return lines.join('\n');
}
