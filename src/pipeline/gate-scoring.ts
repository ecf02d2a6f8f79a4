import type { FeatureSpec } from '../../schemas/feature-spec';
import type { Manifest, ModelVersion } from '../../schemas/manifest';
import { pairedComparison } from '../metrics/paired-comparison';
import type { Trainer } from '../model/trainer';
import type { RegistryStore } from '../registry/store';
import { eventsToBatch } from '../stream/event-codec';
import type { HeldBackEntry } from '../stream/held-back-slice';
import { loadTrainerFromVersion, type LoadedVersion } from './model-version';
import { MIN_HELD_BACK_EVENTS, type GateSlice } from './publish-gate';
import type { VersionSnapshots } from './version-snapshots';
import { watchTarget, watchVerdict } from './watch-served';

/** What one publish's scoring found: the gate's comparisons and the watch's verdict. */
export interface GateScores {
  /** The candidate against each reference on the held-back slice (empty: too few events). */
  slices: GateSlice[];
  /** The served parent fell behind the version it replaced: restore that one, and why. */
  fellBehind: { restores: ModelVersion; reason: string } | null;
}

/** The held-back test's settings (`GateTolerances`, defaults resolved). */
export interface ScoringTest {
  heldBackNe: number;
  falseAlarmRate: number;
}

/**
 * Scores a recurring window's candidates for the publish gate and the watch after serving. Per
 * publish the served parent is scored once over the whole slice: the gate compares the
 * candidate with it, and the watch compares it, on the slice's events consumed after it, with
 * the version it replaced. Both come from `snapshots` (copies taken when they were published)
 * when kept there, else from the registry for the occasion. The offline anchor stays loaded
 * for the window (it is every publish's reference); `dispose` releases it.
 */
export function createGateScorer(deps: {
  registry: RegistryStore;
  model: string;
  spec: FeatureSpec;
  anchor: ModelVersion | null;
  test: ScoringTest;
  /** In-memory copies of recently published versions (not owned by the scorer). */
  snapshots?: VersionSnapshots;
  /** The anchor as the model's previous window on this worker loaded it (the scorer owns it). */
  anchorModel?: LoadedVersion;
}) {
  const { registry, model, spec, anchor, test } = deps;
  let anchorModel: LoadedVersion | null = deps.anchorModel ?? null;
  if (anchorModel !== null && anchorModel.manifest.version !== anchor) {
    anchorModel.trainer.dispose();
    anchorModel = null;
  }

  /** `version`'s predictions for `batch`: its in-memory copy, else loaded from the registry. */
  const predictWith = async (
    version: ModelVersion,
    batch: ReturnType<typeof eventsToBatch>,
  ): Promise<Float32Array> => {
    const kept = deps.snapshots?.get(version);
    if (kept !== undefined) return kept.predict(batch);
    const loaded = await loadTrainerFromVersion(registry, model, version);
    try {
      return await loaded.trainer.predict(batch);
    } finally {
      loaded.trainer.dispose();
    }
  };

  return {
    /** The candidate (`trainer`) and its served parent `parent` judged on `entries`. */
    async score(trainer: Trainer, parent: Manifest, entries: HeldBackEntry[]): Promise<GateScores> {
      if (entries.length < MIN_HELD_BACK_EVENTS) return { slices: [], fellBehind: null };
      const batch = eventsToBatch(
        entries.map((e) => e.event),
        spec,
      );
      const candidatePreds = await trainer.predict(batch);
      const parentPreds = await predictWith(parent.version, batch);
      const slices: GateSlice[] = [];
      const compare = (preds: Float32Array, version: ModelVersion, role: GateSlice['role']) => {
        const paired = pairedComparison(candidatePreds, preds, batch.labels);
        if (paired !== null) slices.push({ ...paired, version, role });
      };
      compare(parentPreds, parent.version, 'served');
      if (anchor !== null && anchor !== parent.version) {
        anchorModel ??= await loadTrainerFromVersion(registry, model, anchor);
        compare(await anchorModel.trainer.predict(batch), anchor, 'offline');
      }
      return { slices, fellBehind: await watch(parent, entries, parentPreds) };
    },
    /** The loaded anchor, now the caller's (to keep for the model's next window), if any. */
    releaseAnchor(): LoadedVersion | undefined {
      const released = anchorModel ?? undefined;
      anchorModel = null;
      return released;
    },
    dispose(): void {
      anchorModel?.trainer.dispose();
      anchorModel = null;
    },
  };

  /**
   * The watch (src/pipeline/watch-served.ts): `parent` against the version it replaced, on the
   * entries consumed after it; `parentPreds` are its predictions on all of `entries`.
   */
  async function watch(
    parent: Manifest,
    entries: HeldBackEntry[],
    parentPreds: Float32Array,
  ): Promise<GateScores['fellBehind']> {
    const target = watchTarget(parent, entries);
    if (target === null) return null;
    const newer = new Set(target.entries);
    const rows = entries.flatMap((e, i) => (newer.has(e) ? [i] : []));
    const batch = eventsToBatch(
      target.entries.map((e) => e.event),
      spec,
    );
    const comparison = pairedComparison(
      Float32Array.from(rows, (i) => parentPreds[i] as number),
      await predictWith(target.replaced, batch),
      batch.labels,
    );
    if (comparison === null) return null;
    const reason = watchVerdict(target, comparison, test.heldBackNe, test.falseAlarmRate);
    return reason === null ? null : { restores: target.replaced, reason };
  }
}

/** A window's scorer (see {@link createGateScorer}). */
export type GateScorer = ReturnType<typeof createGateScorer>;
