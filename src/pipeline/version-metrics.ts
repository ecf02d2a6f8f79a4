import type { KafkaOffsets, Manifest, ModelVersion } from '../../schemas/manifest';
import { SlidingWindowMetrics } from '../metrics/sliding-window';
import type { RegistryStore } from '../registry/store';
import type { TopicOffsets } from '../stream/offsets';
import type { ProgressiveMetrics } from '../stream/training-loop';
import type { GateBaseline } from './publish-gate';
import { finiteMetrics } from './publish-offline';

/**
 * What a recurring window records about its versions and reads back from its parent: offsets
 * in manifest form, the progressive metrics since the last version, the gate's baseline, and
 * the offline root of a chain.
 */

/** Offsets as manifests store them (decimal strings). */
export function toManifestOffsets(offsets: TopicOffsets): KafkaOffsets {
  return Object.fromEntries(
    Object.entries(offsets).map(([topic, parts]) => [
      topic,
      Object.fromEntries(Object.entries(parts).map(([p, o]) => [p, String(o)])),
    ]),
  );
}

/**
 * The sliding-window metrics as the stream trainer's progressive-validation seam, plus the same
 * figures over the events since the last publish: a version is judged by the gate on its own
 * events, not on a window where earlier versions' events dilute a bad burst.
 */
export function progressiveMetrics(capacity: number): ProgressiveMetrics & {
  sinceVersion(): Record<string, number>;
  startVersion(): void;
} {
  const window = new SlidingWindowMetrics(capacity);
  let own = new SlidingWindowMetrics(capacity);
  return {
    add: (predictions, labels) => {
      window.push(predictions, labels);
      own.push(predictions, labels);
    },
    snapshot: () => (window.size === 0 ? {} : finiteMetrics({ ...window.snapshot() })),
    sinceVersion: () => (own.size === 0 ? {} : finiteMetrics({ ...own.snapshot() })),
    startVersion: () => {
      own = new SlidingWindowMetrics(capacity);
    },
  };
}

/**
 * A version's own-event figures (window snapshot name → manifest metric name). One table for
 * both directions: what a publish stores, and what the gate reads back from a parent.
 */
const VERSION_METRICS = {
  ne: 'versionNe',
  neStdErr: 'versionNeStdErr',
  calibration: 'versionCalibration',
  calibrationStdErr: 'versionCalibrationStdErr',
  count: 'versionScored',
} as const;

/** A version's own-event figures under the names its manifest stores them. */
export function versionMetrics(own: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, name] of Object.entries(VERSION_METRICS)) {
    const value = own[key];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * What the gate compares a candidate with: the served parent's own-event figures, or for a
 * version published before they existed its window figures (`ne`, `calibration`).
 */
export function gateBaseline(manifest: {
  version: ModelVersion;
  metrics: Record<string, number>;
}): GateBaseline {
  const m = manifest.metrics;
  const metrics: Record<string, number> = {};
  for (const [key, name] of Object.entries(VERSION_METRICS)) {
    const value = m[name] ?? (key === 'ne' || key === 'calibration' ? m[key] : undefined);
    if (value !== undefined) metrics[key] = value;
  }
  return { version: manifest.version, metrics };
}

/**
 * The offline version `base`'s chain descends from: `base` itself when offline, the anchor its
 * gate verdict recorded, else found by walking its parents (versions published before verdicts
 * named one). Null when the walk finds no offline root (a pruned history).
 */
export async function offlineRoot(
  registry: RegistryStore,
  model: string,
  base: Manifest,
): Promise<ModelVersion | null> {
  let at: Manifest | null = base;
  for (let hops = 0; at !== null && hops < 10_000; hops++) {
    if (at.phase !== 'recurring') return at.version;
    if (at.gate?.anchor !== undefined) return at.gate.anchor;
    if (at.parent === null) return null;
    at = await registry.get(model, at.parent).catch(() => null);
  }
  return null;
}
