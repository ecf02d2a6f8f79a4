import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HELD_BACK_SLICE_FILE, parseHeldBack, type HeldBackEntry } from '../stream/held-back-slice';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { Manifest, TowerWidths } from '../../schemas/manifest';
import { loadCheckpoint } from '../model/checkpoint';
import type { Trainer } from '../model/trainer';
import type { RegistryStore, VersionRef } from '../registry/store';
import { featureSpecOfManifest } from './feature-spec-of';

/** A registry version loaded into a live trainer. The caller owns `trainer` and disposes it. */
export interface LoadedVersion {
  trainer: Trainer;
  spec: FeatureSpec;
  manifest: Manifest;
  /** The held-back slice the version stored (recurring versions with a gate); else empty. */
  heldBack: HeldBackEntry[];
}

/**
 * Verifies a version's files (checksums) and loads its checkpoint into a new trainer on the
 * current tfjs backend, with the feature spec its manifest records.
 */
export async function loadTrainerFromVersion(
  registry: RegistryStore,
  model: string,
  version: VersionRef,
): Promise<LoadedVersion> {
  const { dir, manifest } = await registry.fetch(model, version);
  const spec = featureSpecOfManifest(manifest);
  const heldBack = manifest.files.some((f) => f.path === HELD_BACK_SLICE_FILE)
    ? parseHeldBack(
        await readFile(join(dir, HELD_BACK_SLICE_FILE), 'utf8'),
        `${model} ${manifest.version}: ${HELD_BACK_SLICE_FILE}`,
      )
    : [];
  const { trainer } = await loadCheckpoint(dir);
  return { trainer, spec, manifest, heldBack };
}

/** Output width of every layer of the trainer's towers, as manifests record them. */
export function towerWidths(trainer: Trainer): TowerWidths {
  const width = (l: { b: { shape: number[] } }): number => l.b.shape[0] ?? 0;
  return { bottom: trainer.towers.bottom.map(width), top: trainer.towers.top.map(width) };
}

/** `13-512-256-64 | 512-256-1`: widths as one short line (search attributes, logs). */
export function formatWidths(widths: TowerWidths): string {
  return `${widths.bottom.join('-')} | ${widths.top.join('-')}`;
}
