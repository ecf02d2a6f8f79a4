import type { Manifest } from '../../schemas/manifest';
import { pollUntil, runningWindow, type RecurringHandle } from '../../infra/fleet/windows';
import { sleep } from '../../infra/process';
import type { Fleet } from './harness';
import type { ManifestLog } from './manifest-log';

/** A model the benchmark runs: its recurring workflow and topic. */
export interface RunningModel {
  model: string;
  topic: string;
  handle: RecurringHandle;
}

export interface IntervalOptions {
  /** Seconds after every model's first recurring version before the interval starts. */
  warmupSeconds: number;
  /** The interval's length, unless a backlog nearly runs out first. */
  intervalSeconds: number;
  /** Events on each model's topic. */
  backlog: number;
  eventsPerVersion: number;
}

/** Events per second trained over one interval, from the versions published in it. */
export interface IntervalRate {
  eventsPerSecond: number;
  /** The interval actually measured (shorter than asked when a backlog ran low). */
  seconds: number;
  perModel: { model: string; eventsPerSecond: number; versions: number }[];
  /**
   * Where the windows ran: once a second each model's running window is looked up; the share
   * of those looks that found it on each worker (`none`: between two windows).
   */
  placement: Record<string, number>;
  /** The interval ended early because a model's backlog ran low. */
  backlogLimited: boolean;
}

/** Events a version trained (its manifest's `dataRange.events`). */
const trainedBy = (m: Manifest): number =>
  m.dataRange.kind === 'recurring' ? (m.dataRange.events ?? 0) : 0;

/** Offsets a version reached, summed over the model's topic's partitions. */
function consumedUpTo(m: Manifest | undefined): number {
  if (m?.dataRange.kind !== 'recurring') return 0;
  return Object.values(m.dataRange.toOffsets)
    .flatMap((partitions) => Object.values(partitions))
    .reduce((sum, o) => sum + Number(o), 0);
}

/**
 * A model's rate over `(t0, t1]`: the events of the versions published in it after the first,
 * over the time from the first to the last (exact at version boundaries); with one version
 * only, its events over the interval.
 */
function rateOf(manifests: readonly Manifest[], t0: number, t1: number): [number, number] {
  const inside = manifests.filter((m) => {
    const at = Date.parse(m.createdAt);
    return at > t0 && at <= t1;
  });
  const first = inside[0];
  const last = inside.at(-1);
  if (first === undefined || last === undefined) return [0, 0];
  const span = (Date.parse(last.createdAt) - Date.parse(first.createdAt)) / 1000;
  if (inside.length < 2 || span <= 0) return [trainedBy(first) / ((t1 - t0) / 1000), 1];
  const events = inside.slice(1).reduce((sum, m) => sum + trainedBy(m), 0);
  return [events / span, inside.length];
}

/**
 * Waits for every model's first recurring version and the warm-up, then samples the interval:
 * which worker runs each window (once a second) and, from the manifests, the events trained.
 */
export async function measureInterval(
  fleet: Fleet,
  models: readonly RunningModel[],
  log: ManifestLog,
  options: IntervalOptions,
  diagnose: () => Promise<string>,
): Promise<IntervalRate> {
  await pollUntil(
    async () => {
      await log.refresh();
      return models.every((m) => log.of(m.model).length > 0) ? true : undefined;
    },
    300_000,
    'a recurring version of every model',
    diagnose,
  );
  await sleep(options.warmupSeconds * 1000);
  // A model closer than this to the end of its backlog is about to stop being throughput-bound.
  const lowWater = options.backlog - 2 * options.eventsPerVersion;
  const t0 = Date.now();
  const samples = new Map<string, number>();
  let sampled = 0;
  let backlogLimited = false;
  while (Date.now() - t0 < options.intervalSeconds * 1000) {
    await sleep(1_000);
    for (const m of models) {
      const identity = (await runningWindow(m.handle))?.identity;
      const name = fleet.nameOf(identity);
      samples.set(name, (samples.get(name) ?? 0) + 1);
      sampled++;
    }
    if (models.some((m) => consumedUpTo(log.of(m.model).at(-1)) >= lowWater)) {
      backlogLimited = true;
      break;
    }
  }
  const t1 = Date.now();
  await log.refresh();
  const perModel = models.map((m) => {
    const [eventsPerSecond, versions] = rateOf(log.of(m.model), t0, t1);
    return { model: m.model, eventsPerSecond, versions };
  });
  return {
    eventsPerSecond: perModel.reduce((sum, m) => sum + m.eventsPerSecond, 0),
    seconds: (t1 - t0) / 1000,
    perModel,
    placement: Object.fromEntries(
      [...samples].sort().map(([name, n]) => [name, Number((n / sampled).toFixed(2))]),
    ),
    backlogLimited,
  };
}
