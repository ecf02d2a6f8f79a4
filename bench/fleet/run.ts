import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runMain } from '../../src/cli/run-main';
import { offlineTraining } from '../../workflows';
import { demoTrainConfig } from '../../worker/demo-train-config';
import { runConfiguration, type Configuration } from './configuration';
import type { RunAudit } from './failover';
import { produceBacklog, startFleet, type Fleet, type RecurringSettings } from './harness';
import { timeRegistries, REFERENCE_MODEL } from './registry-timing';
import { summaryTable, type FleetReport } from './report';
import type { IntervalOptions } from './throughput';

/**
 * `npm run bench:fleet [-- --quick] [--only recurring] [--label TEXT] [--out FILE]`: issue 15's fleet benchmark on
 * a private Temporal + Kafka (infra/private-stack.ts BENCH_FLEET_PORTS) and S3 server (moto):
 *
 * 1. fleet — events/s trained with 1, 2, 3 `npm run worker` processes over 3 models, each a
 *    recurring workflow on its own topic with a backlog (throughput-bound), from the manifests
 *    published over a fixed interval after a warm-up;
 * 2. failover — with ≥ 2 workers, SIGKILL of the worker running a window: time to the model's
 *    next version, and the exactly-once audit of every version the configuration published;
 * 3. registry — publish and fetch of the reference DLRM checkpoint, filesystem vs S3;
 * 4. recurringVsOffline — one worker: the offline trainer's samples/s (offlineTraining, the main
 *    command's config) vs the recurring workflow's events/s on a backlog, same model and batch.
 *
 * Everything goes through public entry points (workflows, the registry API, worker processes).
 * Writes bench/results/fleet.json and prints a summary table; bench/fleet/README.md has the
 * definitions. `--quick` is a smoke run (small backlog, short intervals, 1 and 2 workers).
 * `--only recurring` runs part 4 alone (both cadences, still on its private stack), for
 * before/after comparisons in a short quiet window; its JSON keeps every field name, with
 * `fleet`, `failover` and `registry` empty, and goes to bench/results/fleet-recurring.json
 * unless `--out` says otherwise.
 */

/** The recurring trainer's batch size (src/stream/recurring-trainer.ts' default). */
const RECURRING_BATCH = 256;
/** The offline data's seed; the streams continue its teacher. */
const TEACHER_SEED = 1;

interface Settings {
  quick: boolean;
  workers: number[];
  backlog: number;
  warmupSeconds: number;
  intervalSeconds: number;
  registryRepetitions: number;
  offlineRows: number;
  recurring: RecurringSettings;
  /** recurringVsOffline.atCadence: the recurring settings it changes. */
  cadence: Required<Pick<RecurringSettings, 'eventsPerVersion' | 'windowVersions'>>;
}

function settingsOf(quick: boolean): Settings {
  return {
    quick,
    workers: quick ? [1, 2] : [1, 2, 3],
    backlog: quick ? 40_000 : 300_000,
    warmupSeconds: quick ? 5 : 15,
    intervalSeconds: quick ? 15 : 45,
    registryRepetitions: quick ? 2 : 5,
    offlineRows: quick ? 10_000 : 60_000,
    // The main command's recurring settings (worker/pipeline.ts: 4,000 events a version, the
    // workflow's default window length), with the fleet test's heartbeat timeout (a failover in
    // seconds rather than the default minute).
    recurring: { eventsPerVersion: 4_000, heartbeatTimeoutSeconds: 10 },
    cadence: { eventsPerVersion: quick ? 4_000 : 25_000, windowVersions: 4 },
  };
}

const DEFINITIONS: Record<string, string> = {
  'fleet.eventsPerSecond':
    'events trained per second by all models together (sum of per-model rates); a model’s rate is the events of the versions it published in the interval after its first one there, over the time between that first and its last (exact at version boundaries); warm-up: every model has published once, then warmupSeconds',
  'fleet.placement':
    'once a second, each model’s running window is looked up (describe: pending activity); the share of looks that found it on each worker, `none` between windows',
  'failover.secondsToResume':
    'from the SIGKILL of the worker running a model’s window (one it started 0.3–1.5 s before and has not published from: training, its consumer in the model’s group; midWindow checks it afterwards) to the createdAt of that model’s first version published after the kill (its first trained batch made durable, necessarily by another worker)',
  'failover.secondsToRetry':
    'from the SIGKILL to the server starting the window’s next attempt on another worker (heartbeat timeout), from the pending activity',
  'failover.eventsLost':
    'over every model of the configuration: offsets from the topic start to the furthest any version reached that no version trained, from the manifests logged during the run',
  'failover.eventsDuplicated': 'offsets in more than one version, same manifests',
  'registry.publishSeconds':
    'median wall time of RegistryStore.publish of the reference checkpoint as a new model’s first version (checksums, copy or upload, manifest last)',
  'registry.fetchSeconds':
    'median wall time of RegistryStore.fetch of it into an empty cache: S3 downloads and verifies; fs verifies in place',
  'recurringVsOffline.recurringEventsPerSecond':
    'one worker, one model, backlog on its topic: as fleet.eventsPerSecond (publishing and window turnover included)',
  'recurringVsOffline.atCadence':
    'the same measurement with fewer, larger versions (eventsPerVersion) and several per window (windowVersions), as a throughput-bound deployment would configure it',
  'recurringVsOffline.offlineSamplesPerSecond':
    'the offlineTraining workflow’s samplesPerSecond (rows / wall seconds of the run, evaluations included) on the same worker, main command config at the recurring batch size',
  'recurringVsOffline.offlineDenseSamplesPerSecond':
    'the same offline run with agp.schedule dense: the full-width model the recurring trainer trains (AGP offline spends part of its steps pruned, at fewer FLOPs a step); ratioToDense is recurring over it',
  'recurringVsOffline.phases':
    'where the windows’ wall time went, from each trainRecurringWindow result’s timings (src/stream/window-timings.ts), summed over every window of the run (warm-up included): per window, per version and per trained event',
  'recurringVsOffline.publishSteps':
    'medians over the run’s recurring manifests of the publish’s own steps (snapshotSeconds, checkpointSeconds, gateSeconds, fenceSeconds), ms; the registry’s part is the rest of the publish median',
};

function machine(label: string | undefined, settings: Settings, loadStart: number[]): string {
  const cpu = cpus();
  return (
    `${label ?? (settings.quick ? 'quick smoke run' : 'full run')}; ${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; load average at start ` +
    `${loadStart.map((x) => x.toFixed(1)).join(' ')}, at end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`
  );
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      label: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
      backlog: { type: 'string' },
    },
    strict: true,
  });
  if (values.only !== undefined && values.only !== 'recurring') {
    process.stderr.write(
      `bench:fleet: --only takes 'recurring' (the recurringVsOffline part), got '${values.only}'\n`,
    );
    return 2;
  }
  const onlyRecurring = values.only === 'recurring';
  const settings = settingsOf(values.quick ?? false);
  if (values.backlog !== undefined) {
    // A faster trainer empties the default backlog before the interval ends (backlogLimited).
    const n = Number(values.backlog);
    if (!Number.isInteger(n) || n < 10_000) {
      process.stderr.write(
        `bench:fleet: --backlog takes an integer ≥ 10000, got '${values.backlog}'\n`,
      );
      return 2;
    }
    settings.backlog = n;
  }
  const out =
    values.out ??
    path.join(__dirname, '..', 'results', onlyRecurring ? 'fleet-recurring.json' : 'fleet.json');
  const say = (line: string): void => void process.stdout.write(`bench:fleet: ${line}\n`);
  const started = Date.now();
  const loadStart = loadavg();
  const tag = randomUUID().slice(0, 4);
  say(`starting a private Temporal, Kafka and S3 (run ${tag})`);
  const fleet = await startFleet(tag);
  const workDir = await mkdtemp(path.join(tmpdir(), 'agp-bench-fleet-work-'));
  try {
    // 3 first, while no worker runs.
    const registry = onlyRecurring
      ? []
      : await timeRegistries(fleet.s3, settings.registryRepetitions, workDir, say);

    // Part 4 reads topics 0 and 1; the fleet part all three.
    const topics = (onlyRecurring ? [0, 1] : [0, 1, 2]).map((i) => `bench.clicks.${tag}.${i}`);
    say(`producing a backlog of ${settings.backlog} events into each of ${topics.length} topics`);
    await produceBacklog(fleet.kafka, topics, settings.backlog, TEACHER_SEED);

    // 4: the offline run alone on one worker, then one recurring model on the same worker.
    const offline = await offlinePart(fleet, settings.offlineRows, say);
    // The like-for-like reference: the recurring trainer trains the full-width model, while AGP
    // offline spends part of its steps pruned (fewer FLOPs a step).
    const offlineDense = await offlinePart(fleet, settings.offlineRows, say, 'dense');
    const interval: IntervalOptions = {
      warmupSeconds: settings.warmupSeconds,
      intervalSeconds: settings.intervalSeconds,
      backlog: settings.backlog,
      eventsPerVersion: settings.recurring.eventsPerVersion,
    };
    const base = {
      offline: { model: offline.model, version: offline.version },
      settings: settings.recurring,
      interval,
    };
    const single = await runConfiguration(
      fleet,
      {
        ...base,
        workers: 1,
        models: [{ model: `bench-recurring-${tag}`, topic: topics[0] ?? '' }],
        failover: false,
      },
      say,
    );

    // The same at a cadence a throughput-bound deployment would choose: fewer, larger versions
    // and several per window, so per-version and per-window costs weigh less.
    const cadence = { ...settings.recurring, ...settings.cadence };
    const paced = await runConfiguration(
      fleet,
      {
        ...base,
        settings: cadence,
        interval: {
          ...interval,
          warmupSeconds: 5,
          intervalSeconds: Math.min(20, interval.intervalSeconds),
          eventsPerVersion: cadence.eventsPerVersion,
        },
        workers: 1,
        models: [{ model: `bench-cadence-${tag}`, topic: topics[1] ?? '' }],
        failover: false,
      },
      say,
    );

    // 1 and 2.
    const { fleetRows, failovers, audits } = onlyRecurring
      ? { fleetRows: [], failovers: [], audits: [] }
      : await fleetPart(fleet, settings, base, topics, say);

    const recurringEventsPerSecond = Math.round(single.rate.eventsPerSecond);
    const report: FleetReport = {
      machine: machine(values.label, settings, loadStart),
      command: `npm run bench:fleet -- ${argv.join(' ')}`.trim(),
      startedAt: new Date(started).toISOString(),
      totalSeconds: Math.round((Date.now() - started) / 1000),
      settings: {
        ...settings,
        referenceModel: REFERENCE_MODEL,
        recurringBatch: RECURRING_BATCH,
        note: 'each worker is its own `npm run worker` process with its own AGP_DATA_DIR; all share this machine’s cores',
      },
      definitions: DEFINITIONS,
      fleet: fleetRows,
      failover: failovers,
      registry,
      recurringVsOffline: {
        recurringEventsPerSecond,
        offlineSamplesPerSecond: Math.round(offline.samplesPerSecond),
        ratio: Number((recurringEventsPerSecond / offline.samplesPerSecond).toFixed(3)),
        offlineDenseSamplesPerSecond: Math.round(offlineDense.samplesPerSecond),
        ratioToDense: Number((recurringEventsPerSecond / offlineDense.samplesPerSecond).toFixed(3)),
        batchSize: RECURRING_BATCH,
        offlineSchedule: 'agp (the product default: pruned phases train at reduced width)',
        offlineRows: settings.offlineRows,
        lastWindowEventsPerSecond: Math.round(single.lastWindowEventsPerSecond[0] ?? 0),
        intervalSeconds: Number(single.rate.seconds.toFixed(1)),
        backlogLimited: single.rate.backlogLimited,
        phases: single.phases[0],
        publishSteps: single.publishSteps[0],
        atCadence: {
          eventsPerVersion: cadence.eventsPerVersion,
          windowVersions: cadence.windowVersions,
          recurringEventsPerSecond: Math.round(paced.rate.eventsPerSecond),
          ratio: Number((paced.rate.eventsPerSecond / offline.samplesPerSecond).toFixed(3)),
          ratioToDense: Number(
            (paced.rate.eventsPerSecond / offlineDense.samplesPerSecond).toFixed(3),
          ),
          intervalSeconds: Number(paced.rate.seconds.toFixed(1)),
          backlogLimited: paced.rate.backlogLimited,
          phases: paced.phases[0],
          publishSteps: paced.publishSteps[0],
        },
      },
    };
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${summaryTable(report)}\n`);
    say(`wrote ${path.relative(process.cwd(), out)}`);
    const broken = [single.audit, paced.audit, ...audits].some(
      (a) => a.eventsLost + a.eventsDuplicated > 0 || a.problems.length > 0,
    );
    if (broken) say('FAILED: the exactly-once audit found lost or duplicated events');
    return broken ? 1 : 0;
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await fleet.dispose();
  }
}

/**
 * The offline trainer's figure: `offlineTraining` with the main command's config at the
 * recurring batch size, alone on one worker. Its version is what every recurring model copies.
 */
async function offlinePart(
  fleet: Fleet,
  rows: number,
  say: (line: string) => void,
  schedule: 'agp' | 'dense' = 'agp',
): Promise<{ model: string; version: string; samplesPerSecond: number }> {
  await fleet.ensureWorkers(1);
  const model = `bench-offline-${schedule}-${fleet.tag}`;
  say(`offline (${schedule}): ${rows} rows, batch ${RECURRING_BATCH} (offlineTraining)`);
  const offline = await fleet.client.workflow.execute(offlineTraining, {
    taskQueue: fleet.taskQueue,
    workflowId: `agp-offline-${model}`,
    args: [
      {
        model,
        trainConfig: {
          ...demoTrainConfig({ model, rows, testRows: 5_000, batchSize: RECURRING_BATCH }),
          ...(schedule === 'dense' ? { agp: { schedule: 'dense' } } : {}),
        },
      },
    ],
  });
  const samplesPerSecond = offline.metrics['samplesPerSecond'] ?? NaN;
  say(`offline (${schedule}): ${offline.version}, ${Math.round(samplesPerSecond)} samples/s`);
  return { model, version: offline.version, samplesPerSecond };
}

/** Parts 1 and 2: each worker count over 3 models, with a failover from 2 workers on. */
async function fleetPart(
  fleet: Fleet,
  settings: Settings,
  base: Pick<Configuration, 'offline' | 'settings' | 'interval'>,
  topics: readonly string[],
  say: (line: string) => void,
): Promise<{
  fleetRows: FleetReport['fleet'];
  failovers: FleetReport['failover'];
  audits: RunAudit[];
}> {
  const fleetRows: FleetReport['fleet'] = [];
  const failovers: FleetReport['failover'] = [];
  const audits: RunAudit[] = [];
  for (const workers of settings.workers) {
    const c: Configuration = {
      ...base,
      workers,
      models: topics.map((topic, i) => ({ model: `bench-w${workers}-m${i}-${fleet.tag}`, topic })),
      failover: workers >= 2,
    };
    const r = await runConfiguration(fleet, c, say);
    audits.push(r.audit);
    if (r.pausedByGate.length > 0) say(`WARNING: the gate paused ${r.pausedByGate.join(', ')}`);
    fleetRows.push({
      workers,
      models: c.models.length,
      eventsPerSecond: Math.round(r.rate.eventsPerSecond),
      intervalSeconds: Number(r.rate.seconds.toFixed(1)),
      perModel: r.rate.perModel.map((m) => ({
        ...m,
        eventsPerSecond: Math.round(m.eventsPerSecond),
      })),
      placement: r.rate.placement,
      backlogLimited: r.rate.backlogLimited,
    });
    if (r.failover) {
      const f = r.failover;
      failovers.push({
        what:
          `SIGKILL of worker ${f.victim} ${f.midWindow ? 'mid-window' : 'at the end of its window'} ` +
          `of ${f.model} (${workers} workers, ${c.models.length} models, heartbeat timeout ` +
          `${settings.recurring.heartbeatTimeoutSeconds} s)`,
        secondsToResume: Number(f.secondsToResume.toFixed(2)),
        eventsLost: r.audit.eventsLost,
        eventsDuplicated: r.audit.eventsDuplicated,
        secondsToRetry: f.secondsToRetry === null ? null : Number(f.secondsToRetry.toFixed(2)),
        midWindow: f.midWindow,
        takenBy: f.takenBy,
        auditProblems: r.audit.problems,
        unseenVersions: r.audit.unseenVersions,
        versionsAudited: r.audit.versions,
      });
    }
  }
  return { fleetRows, failovers, audits };
}

runMain('bench:fleet', () => main(process.argv.slice(2)));
