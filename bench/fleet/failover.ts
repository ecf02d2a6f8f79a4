import { duplicatedAndLost } from '../../infra/fleet/audit';
import {
  identityOf,
  pollUntil,
  recurringVersions,
  runningWindow,
  type RunningWindow,
} from '../../infra/fleet/windows';
import { auditChain } from '../../src/registry/audit';
import type { Fleet } from './harness';
import type { ManifestLog } from './manifest-log';
import type { RunningModel } from './throughput';

/** One SIGKILL of the worker running a model's window, and when the model trained again. */
export interface FailoverTiming {
  model: string;
  victim: string;
  /** The server still held the window as the victim's after the kill, and it had not published. */
  midWindow: boolean;
  /** From the SIGKILL to the first version of the model published after it. */
  secondsToResume: number;
  /** From the SIGKILL to the server handing the window to another worker; null if unseen. */
  secondsToRetry: number | null;
  /** The worker that took the window over (`B, attempt 2`). */
  takenBy: string;
  version: string;
}

/**
 * SIGKILLs the worker running a window of one of `models` (the first found on a live worker
 * that started it 0.3–1.5 s ago and has not published since), as a lost host, and waits for that model's next version, which only another worker can
 * publish. The window is retried elsewhere after its heartbeat timeout, and trains once it has
 * joined the model's consumer group, which waits for Kafka to evict the dead member.
 */
export async function killMidWindow(
  fleet: Fleet,
  models: readonly RunningModel[],
  diagnose: () => Promise<string>,
): Promise<FailoverTiming> {
  // A window that started a moment ago and has not published yet is training, its consumer in
  // the model's group: a kill then strikes the work, not a window's publish or its exit (a
  // window is one or more versions of thousands of events, seconds even when throughput-bound).
  const [target, victim, window] = await pollUntil(
    async () => {
      for (const m of models) {
        const w = await runningWindow(m.handle);
        const host = fleet.live().find((p) => identityOf(p) === w?.identity);
        const age = Date.now() - (w?.startedAt ?? NaN);
        if (w === undefined || host === undefined || !(age >= 300 && age <= 1_500)) continue;
        const versions = await recurringVersions(fleet.registry, m.model);
        if (versions.every((v) => v.at < w.startedAt)) return [m, host, w] as const;
      }
      return undefined;
    },
    120_000,
    'a window that started on a live worker less than 1.5 s ago',
    diagnose,
  );
  const victimId = identityOf(victim);
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  const deadAt = Date.now();
  // Mid-window: the server still holds the attempt as the victim's, and it published nothing.
  const midWindow =
    (await runningWindow(target.handle))?.identity === victimId &&
    (await recurringVersions(fleet.registry, target.model)).every(
      (v) => v.at < window.startedAt || v.at > deadAt,
    );
  let retried: RunningWindow | undefined;
  const next = await pollUntil(
    async () => {
      const w = await runningWindow(target.handle);
      if (retried === undefined && w !== undefined && w.identity !== victimId) retried = w;
      return (await recurringVersions(fleet.registry, target.model)).find((v) => v.at > deadAt);
    },
    180_000,
    `a version of ${target.model} after the kill`,
    diagnose,
  );
  return {
    model: target.model,
    victim: fleet.nameOf(victimId),
    midWindow,
    secondsToResume: (next.at - killedAt) / 1000,
    secondsToRetry: retried === undefined ? null : (retried.startedAt - killedAt) / 1000,
    takenBy:
      retried === undefined
        ? 'unseen'
        : `${fleet.nameOf(retried.identity)}, attempt ${retried.attempt}`,
    version: next.version,
  };
}

/** The exactly-once audit of a run, summed over its models. */
export interface RunAudit {
  eventsLost: number;
  eventsDuplicated: number;
  /** Chain problems (forks, overlaps, gaps) auditChain found, per model. */
  problems: string[];
  /** Version numbers never seen (deleted by retention before a read, or never committed). */
  unseenVersions: number;
  versions: number;
}

/**
 * Audits every model's recurring versions from the manifests logged while they ran: offsets
 * from the topic's start to the furthest any version reached, trained by no version (lost) or by more
 * than one (duplicated), and auditChain's fork/overlap/gap checks.
 */
export function auditRun(models: readonly RunningModel[], log: ManifestLog): RunAudit {
  const audit: RunAudit = {
    eventsLost: 0,
    eventsDuplicated: 0,
    problems: [],
    unseenVersions: 0,
    versions: 0,
  };
  for (const { model, topic } of models) {
    const manifests = log.of(model);
    if (manifests.length === 0) continue;
    // Per partition, the furthest offset any version reached.
    const ends = new Map<number, number>();
    for (const m of manifests) {
      if (m.dataRange.kind !== 'recurring') continue;
      for (const [p, o] of Object.entries(m.dataRange.toOffsets[topic] ?? {})) {
        ends.set(Number(p), Math.max(ends.get(Number(p)) ?? 0, Number(o)));
      }
    }
    const { lost, duplicated } = duplicatedAndLost(manifests, topic, ends);
    const chain = auditChain(manifests, (m) => m.gate?.held === true);
    audit.eventsLost += lost;
    audit.eventsDuplicated += duplicated;
    audit.problems.push(...chain.problems.map((p) => `${model}: ${p}`));
    audit.unseenVersions += log.missing(model);
    audit.versions += manifests.length;
  }
  return audit;
}
