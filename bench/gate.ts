/**
 * `npm run bench:gate` → bench/results/gate.json: how well the publish gate keeps `latest` good
 * (issue 26). Seeded streams, each through the product's recurring window (real Kafka, the
 * registry, the gate at the product's defaults, the product's default optimizers), window after
 * window as the recurring workflow runs them (a held version ends a window; the next starts from
 * the last served version, skipping the held one's events):
 *
 * - `burst`: 50–500 consecutive mislabelled events at a random position (across version
 *   boundaries as often as not); `extreme`: one event with every dense feature at 1e308;
 * - `clean`: the same teacher's events, nothing planted.
 *
 * Per run: every served version's NE on 5,000 clean held-out events, the largest amount by which
 * a served version was worse than the best served before it (goal: never > 2% on poisoned
 * streams), the versions held, and whether they trained any harmful event (a held version with
 * none is a false alarm; goal ≤ 5%).
 *
 * Usage: npm run bench:gate -- [--poisoned 30] [--clean 10] [--events-per-version 1000]
 *        [--versions 6] [--held-back-ne 0.005] [--alpha 0.01] [--min-held-back 2000]
 *        [--recurring-lr-scale F] [--quick] [--out FILE]
 * Needs a Kafka broker: reuses a running one (KAFKA_BROKERS or the embedded default) or starts
 * the embedded one.
 */
import { GATE_BENCH_NE } from './ne-definition';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { ensureInfra } from '../infra/stack';
import { ModelVersion, type Manifest } from '../schemas/manifest';
import {
  DEFAULT_RECURRING_OPTIMIZER,
  type RecurringOptimizer,
} from '../schemas/recurring-optimizer';
import { parseInfraConfig } from '../src/config/env';
import { evaluateBinary } from '../src/metrics';
import { initBackend } from '../src/model/backend';
import { runOfflinePhase } from '../src/pipeline/offline-phase';
import { loadTrainerFromVersion } from '../src/pipeline/model-version';
import { runRecurringWindow, TRAINED_IDS_FILE } from '../src/pipeline/recurring-window';
import { syntheticEventRows } from '../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../src/registry';
import { copyAsNewLineage } from '../src/registry/copy-version';
import { resumePoint } from '../src/registry/lineage';
import { createTopicsReady } from '../src/stream/create-topics';
import { eventsToBatch } from '../src/stream/event-codec';
import { createKafka } from '../src/stream/kafka-client';
import { createReplayProducer, replay } from '../src/stream/replay';
import { runMain } from '../src/cli/run-main';
import { demoTrainConfig } from '../worker/demo-train-config';
import { plantScenario, worstRegression, type ScenarioKind } from './gate/scenario';

/** A bad flag: its message on stderr, no stack trace, exit 2 (before any server starts). */
function usageError(message: string): never {
  process.stderr.write(`bench:gate: ${message}\n`);
  process.exit(2);
}

const OPTIONS = {
  poisoned: { type: 'string', default: '30' },
  clean: { type: 'string', default: '10' },
  'events-per-version': { type: 'string', default: '1000' },
  versions: { type: 'string', default: '6' },
  'held-back-ne': { type: 'string', default: '0.005' },
  alpha: { type: 'string', default: '0.01' },
  'min-held-back': { type: 'string', default: '2000' },
  /** A constant recurring lr factor instead of the product's default `recurring.optimizer`. */
  'recurring-lr-scale': { type: 'string' },
  quick: { type: 'boolean', default: false },
  out: { type: 'string', default: 'bench/results/gate.json' },
} as const;

const { values } = (() => {
  try {
    return parseArgs({ options: OPTIONS, strict: true });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
})();

function num(flag: keyof typeof values, min: number, max: number, integer = true): number {
  const raw = values[flag];
  const n = Number(raw);
  if (
    typeof raw !== 'string' ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !Number.isInteger(n))
  ) {
    usageError(
      `--${flag}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${String(raw)}'`,
    );
  }
  return n;
}

const POISONED = values.quick ? 2 : num('poisoned', 0, 1000);
const CLEAN = values.quick ? 1 : num('clean', 0, 1000);
const PER_VERSION = num('events-per-version', 100, 1_000_000);
const VERSIONS = values.quick ? 3 : num('versions', 1, 100);
const GATE = {
  ne: 0.03,
  calibration: 0.15,
  heldBackNe: num('held-back-ne', 0, 1, false),
  falseAlarmRate: num('alpha', 1e-6, 0.5, false),
  holdBack: { fraction: 0.02, capacity: 2000, minEvents: num('min-held-back', 0, 100_000) },
};
const HELD_OUT_ROWS = 5_000;
const RECURRING: RecurringOptimizer | undefined =
  values['recurring-lr-scale'] === undefined
    ? undefined
    : { schedule: 'constant', scale: num('recurring-lr-scale', 0, 10, false) };

const say = (line: string): void => void process.stdout.write(`bench:gate: ${line}\n`);

interface VersionRow {
  version: string;
  held: boolean;
  reasons: string[];
  harmfulTrained: number;
  heldBackScored: number | null;
  /** The paired test's figures against the served parent: relative NE difference and its s.e. */
  heldBackDiffPct: number | null;
  heldBackDiffStdErrPct: number | null;
  heldOutNe: number | null;
  /** Clean held-out NE against the parent's, relative, in percent. */
  vsParentPct: number | null;
}

interface RunRow {
  scenario: ScenarioKind;
  seed: number;
  burst: number;
  versions: VersionRow[];
  offlineNe: number;
  /** Largest relative NE excess of a served version over the best served before it. */
  worstRegressionPct: number;
  latestNe: number;
}

async function heldOutNe(
  registry: FsRegistryStore,
  model: string,
  version: string,
  events: Parameters<typeof eventsToBatch>[0],
): Promise<number> {
  const loaded = await loadTrainerFromVersion(registry, model, ModelVersion.parse(version));
  try {
    const batch = eventsToBatch(events, loaded.spec);
    return evaluateBinary(loaded.trainer.predict(batch), batch.labels).ne;
  } finally {
    loaded.trainer.dispose();
  }
}

async function main(): Promise<number> {
  const config = parseInfraConfig();
  await ensureInfra(config, (l) => say(l));
  await initBackend();
  const root = await mkdtemp(path.join(tmpdir(), 'agp-bench-gate-'));
  const registry = await openFsRegistry({ root: path.join(root, 'registry') });
  const kafka = createKafka(config.kafka, { clientId: 'agp-bench-gate' });
  const producer = createReplayProducer(kafka);
  await producer.connect();
  const started = Date.now();
  try {
    const base = 'gate-offline';
    const offline = await runOfflinePhase(
      registry,
      base,
      demoTrainConfig({ model: base, rows: 20_000, testRows: 2_000 }),
      { outDir: path.join(root, 'offline') },
    );
    say(`offline ${offline.manifest.version}: ${offline.summary}`);
    const testRows = syntheticEventRows({
      preset: 'capacity-bound',
      seed: 99,
      teacherSeed: 1,
      split: 'test',
      rows: HELD_OUT_ROWS,
    }).rows;
    const heldOut = [...testRows].map((r, i) => ({
      v: 1 as const,
      eventId: `test-${i}`,
      eventTime: Date.now(),
      label: r.label,
      dense: r.dense,
      sparse: r.sparse,
    }));
    const offlineNe = await heldOutNe(registry, base, offline.manifest.version, heldOut);
    const plan: ScenarioKind[] = [
      ...Array.from(
        { length: POISONED },
        (_, i) => (i % 5 === 4 ? 'extreme' : 'burst') as ScenarioKind,
      ),
      ...Array.from({ length: CLEAN }, () => 'clean' as ScenarioKind),
    ];
    const runs: RunRow[] = [];
    for (const [i, kind] of plan.entries()) {
      const seed = 1000 + i;
      const model = `gate-${i}`;
      // Each run starts from the same offline model, copied into its own lineage.
      const start = await copyAsNewLineage(
        registry,
        base,
        offline.manifest.version,
        registry,
        model,
      );
      // The warm-up holds back the first events after the hand-over: they come on top.
      const total = PER_VERSION * VERSIONS + GATE.holdBack.minEvents;
      const clean = [
        ...syntheticEventRows({
          preset: 'capacity-bound',
          seed,
          teacherSeed: 1,
          split: 'train',
          rows: total,
        }).rows,
      ];
      const scenario = plantScenario(kind, seed, clean);
      const topic = `bench.gate.${randomUUID().slice(0, 8)}`;
      await createTopicsReady(kafka, [{ topic, numPartitions: 3 }, { topic: `${topic}.dlq` }]);
      const prefix = `s${i}`;
      await replay(scenario.rows, { producer, topic, idPrefix: prefix });
      // The workflow's loop: a window runs until its versions are published or one is held.
      let from = start.version;
      let published = 0;
      let first = true;
      while (published < VERSIONS) {
        const resume = await resumePoint(registry, model, from);
        const outcome = await runRecurringWindow(
          { kafka, registry },
          {
            model,
            fromVersion: resume.version,
            ...(first ? {} : { expect: resume.head, skipped: resume.skipped }),
            ...(resume.startOffsets === null || first ? {} : { startOffsets: resume.startOffsets }),
            topic,
            groupId: `bench-gate-${model}`,
            eventsPerVersion: PER_VERSION,
            versions: VERSIONS - published,
            publishEverySeconds: 3600,
            gate: GATE,
            recordTrainedIds: true,
            ...(RECURRING === undefined ? {} : { recurringOptimizer: RECURRING }),
          },
        );
        first = false;
        published += outcome.versions.length;
        from = outcome.lastVersion as ModelVersion;
        if (outcome.versions.length === 0) break;
      }
      const [listing] = await registry.list(model);
      const versions: VersionRow[] = [];
      const servedNe = [offlineNe];
      const neOf = new Map<string, number>([[start.version, offlineNe]]);
      for (const v of listing?.versions ?? []) {
        if (v.phase !== 'recurring') continue;
        const m: Manifest = await registry.get(model, v.version);
        const dir = (await registry.fetch(model, v.version)).dir;
        const ids = JSON.parse(
          await readFile(path.join(dir, TRAINED_IDS_FILE), 'utf8'),
        ) as string[];
        const harmfulTrained = ids.filter((id) =>
          scenario.harmful.has(Number(id.slice(prefix.length + 1))),
        ).length;
        const held = m.gate?.held === true;
        // Held versions are scored too: a held version no worse than its parent on clean
        // held-out events is a false alarm, whatever it trained on.
        const ne = await heldOutNe(registry, model, v.version, heldOut);
        neOf.set(v.version, ne);
        if (!held) servedNe.push(ne);
        const parentNe = m.parent === null ? undefined : neOf.get(m.parent);
        versions.push({
          version: v.version,
          held,
          reasons: m.gate?.reasons ?? [],
          harmfulTrained,
          heldBackScored: m.metrics['heldBackScored'] ?? null,
          ...pairedFigures(m.metrics),
          heldOutNe: ne,
          vsParentPct: parentNe === undefined ? null : ((ne - parentNe) / parentNe) * 100,
        });
      }
      const run: RunRow = {
        scenario: kind,
        seed,
        burst: scenario.burst,
        versions,
        offlineNe,
        worstRegressionPct: worstRegression(servedNe) * 100,
        latestNe: servedNe.at(-1) ?? offlineNe,
      };
      runs.push(run);
      say(
        `run ${i + 1}/${plan.length} ${kind}${kind === 'burst' ? ` ${scenario.burst}` : ''} seed ${seed}: ` +
          versions
            .map(
              (v) =>
                `${v.version}${v.held ? ' held' : ''}${v.harmfulTrained ? ` (${v.harmfulTrained} harmful)` : ''} ${v.heldOutNe?.toFixed(4) ?? ''}`,
            )
            .join(', ') +
          ` | worst ${run.worstRegressionPct.toFixed(2)}% over offline ${offlineNe.toFixed(4)}`,
      );
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
      await admin.disconnect();
      await writeResult(runs, offline, offlineNe, started, runs.length < plan.length);
    }
    say(`wrote ${values.out}`);
    return 0;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

/** Writes the file (after every run, so an interrupted run leaves what it measured). */
async function writeResult(
  runs: RunRow[],
  offline: { manifest: Manifest; summary: string },
  offlineNe: number,
  started: number,
  partial: boolean,
): Promise<void> {
  const poisoned = runs.filter((r) => r.scenario !== 'clean');
  const allVersions = runs.flatMap((r) => r.versions);
  const cleanVersions = allVersions.filter((v) => v.harmfulTrained === 0);
  const judgedVersions = allVersions.filter((v) => v.vsParentPct !== null);
  const notWorse = judgedVersions.filter((v) => (v.vsParentPct ?? 0) <= GATE.heldBackNe * 100);
  const worse = judgedVersions.filter((v) => (v.vsParentPct ?? 0) > GATE.heldBackNe * 100);
  const result = {
    generatedAt: new Date().toISOString(),
    neDefinition: GATE_BENCH_NE,
    ...(partial ? { partial: true } : {}),
    command: `npm run bench:gate -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    seconds: (Date.now() - started) / 1000,
    settings: {
      eventsPerVersion: PER_VERSION,
      versions: VERSIONS,
      gate: GATE,
      heldOutRows: HELD_OUT_ROWS,
      optimizers: 'product defaults (Adam 0.001 + row-wise Adagrad 0.05)',
      recurringOptimizer: RECURRING ?? DEFAULT_RECURRING_OPTIMIZER,
    },
    offline: {
      version: offline.manifest.version,
      heldOutNe: offlineNe,
      summary: offline.summary,
    },
    summary: {
      poisonedRuns: poisoned.length,
      poisonedRunsLatestEverOver2Pct: poisoned.filter((r) => r.worstRegressionPct > 2).length,
      cleanRuns: runs.length - poisoned.length,
      cleanRunsLatestEverOver2Pct: runs.filter(
        (r) => r.scenario === 'clean' && r.worstRegressionPct > 2,
      ).length,
      cleanVersions: cleanVersions.length,
      cleanVersionsHeld: cleanVersions.filter((v) => v.held).length,
      cleanHeldRate:
        cleanVersions.length === 0
          ? null
          : cleanVersions.filter((v) => v.held).length / cleanVersions.length,
      // The gate's own terms: a version more than its tolerance worse than its parent on
      // clean held-out events should be held; one that is not should pass.
      versionsNotWorse: notWorse.length,
      versionsNotWorseHeld: notWorse.filter((v) => v.held).length,
      falseAlarmRate:
        notWorse.length === 0 ? null : notWorse.filter((v) => v.held).length / notWorse.length,
      versionsWorse: worse.length,
      versionsWorseServed: worse.filter((v) => !v.held).length,
      harmfulVersions: allVersions.length - cleanVersions.length,
      harmfulVersionsHeld: allVersions.filter((v) => v.harmfulTrained > 0 && v.held).length,
      eventsBeforeFirstJudgement: GATE.holdBack.minEvents,
      medianHeldBackScored: median(
        allVersions.map((v) => v.heldBackScored).filter((n): n is number => n !== null),
      ),
    },
    runs,
  };
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  say(`summary: ${JSON.stringify(result.summary)}`);
}

/** The held-back comparison with the parent, relative to the parent's NE, in percent. */
function pairedFigures(m: Record<string, number>): {
  heldBackDiffPct: number | null;
  heldBackDiffStdErrPct: number | null;
} {
  const ne = m['heldBackNe'];
  const parent = m['heldBackParentNe'];
  const se = m['heldBackNeDiffStdErr'];
  if (ne === undefined || parent === undefined || se === undefined) {
    return { heldBackDiffPct: null, heldBackDiffStdErrPct: null };
  }
  return {
    heldBackDiffPct: ((ne - parent) / parent) * 100,
    heldBackDiffStdErrPct: (se / parent) * 100,
  };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? null;
}

runMain('bench:gate', main);
