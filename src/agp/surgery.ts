import * as tf from '@tensorflow/tfjs-core';
import { AgpError } from '../errors';
import type { DenseLayer, DenseTowers, LayerSlots, TowerName, TowerSlots } from '../model/params';
import type { PruneRecord, PruneSnapshot } from './prune-record';

/**
 * Prune surgery: physically smaller tensors. Removing neuron j of hidden layer `tower.l` removes
 * column j of W_l, entry j of b_l and row j of W_{l+1}, and the same entries of every optimizer
 * slot. When consecutive layers are both pruned, W_{l+1} loses rows and columns at once.
 *
 * Ownership: `prune` takes over the towers and slots it is given and returns new ones; the
 * tensors of layers it did not touch are passed through, the replaced ones are disposed (or,
 * with `keepSnapshot`, moved into the snapshot for `restore` growth).
 */

/** New towers and slots after a surgery. */
export interface SurgeryResult {
  towers: DenseTowers;
  slots: TowerSlots;
}

/** `prune`'s result: the record (and snapshot) a later `grow` needs. */
export interface PruneResult extends SurgeryResult {
  record: PruneRecord;
  /** Pre-prune weights of the changed layers, when `keepSnapshot` was set. The caller owns it. */
  snapshot?: PruneSnapshot;
}

/** Options of `prune`. */
export interface PruneOptions {
  /** The record of an earlier prune in the same pruned phase (ramped pruning). */
  record?: PruneRecord;
  /** Importance of the current neurons; the kept ones' scores go into the record for `split`. */
  importance?: Readonly<Record<string, Float32Array>>;
  /** Keep the pre-prune weights for `restore` growth. @default false */
  keepSnapshot?: boolean;
  /** The snapshot of an earlier prune in the same pruned phase, to extend (ramped pruning). */
  snapshot?: PruneSnapshot;
}

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

/** Current width of every hidden layer, read from the tensors' shapes. */
export function widthsOf(towers: DenseTowers): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tower of TOWERS) {
    towers[tower].slice(0, -1).forEach((l, i) => (out[`${tower}.${i}`] = l.w.shape[1]));
  }
  return out;
}

function checkPlan(towers: DenseTowers, plan: Readonly<Record<string, Int32Array>>): void {
  const widths = widthsOf(towers);
  for (const [name, keep] of Object.entries(plan)) {
    const width = widths[name];
    if (width === undefined)
      throw new AgpError('InvalidPlan', `${name} is not a hidden layer of the model`);
    const ok = keep.every((k, i) => k >= 0 && k < width && (i === 0 || k > (keep[i - 1] ?? -1)));
    if (!ok || keep.length === 0) {
      throw new AgpError(
        'InvalidPlan',
        `keep indices of ${name} must be sorted, distinct, non-empty and in 0..${width - 1}`,
      );
    }
  }
}

function checkSlots(towers: DenseTowers, slots: TowerSlots): void {
  for (const tower of TOWERS) {
    const ok =
      slots[tower].length === towers[tower].length &&
      slots[tower].every((s) => s.w.length === s.b.length);
    if (!ok)
      throw new AgpError(
        'InvalidSlots',
        `optimizer slots of the ${tower} tower do not match its layers`,
      );
  }
}

/** Updates the record with a plan: kept original indices compose across (ramped) prunes. */
function nextRecord(
  towers: DenseTowers,
  plan: Readonly<Record<string, Int32Array>>,
  opts: PruneOptions,
): PruneRecord {
  const layers: PruneRecord['layers'] = structuredClone(opts.record?.layers ?? {});
  const widths = widthsOf(towers);
  for (const [name, width] of Object.entries(widths)) {
    const prev = layers[name];
    if (prev !== undefined && prev.kept.length !== width) {
      throw new AgpError(
        'InvalidPruneRecord',
        `the prune record has ${prev.kept.length} neurons for ${name}, the model ${width}`,
      );
    }
    const keep = plan[name];
    if (keep === undefined) continue;
    const kept = prev?.kept ?? Array.from({ length: width }, (_, j) => j);
    const scores = opts.importance?.[name];
    if (scores !== undefined && scores.length !== width) {
      throw new AgpError(
        'InvalidImportance',
        `importance of ${name} has ${scores.length} scores for ${width} neurons`,
      );
    }
    layers[name] = {
      fullWidth: prev?.fullWidth ?? width,
      kept: Array.from(keep, (k) => kept[k] ?? -1),
      // A non-finite score (diverged weights) becomes 0: the record must stay valid JSON.
      importance: Array.from(keep, (k) => {
        const v = scores?.[k] ?? prev?.importance[k] ?? 1;
        return Number.isFinite(v) ? v : 0;
      }),
    };
  }
  return { v: 1, layers };
}

/** Gathers the kept rows (`inKeep`) and columns (`outKeep`) of a [in, out] tensor. */
function cut2(t: tf.Tensor2D, inKeep?: Int32Array, outKeep?: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    let x = t;
    if (inKeep !== undefined) x = tf.gather(x, tf.tensor1d(inKeep, 'int32'), 0);
    if (outKeep !== undefined) x = tf.gather(x, tf.tensor1d(outKeep, 'int32'), 1);
    return x;
  });
}

function cut1(t: tf.Tensor1D, keep: Int32Array): tf.Tensor1D {
  // Built from host values rather than returned from tf.gather: the wasm backend's gather
  // output keeps the 4-D shape of its internal reshape in the backend's bookkeeping, and the
  // wasm fused matMul then rejects it as a bias ("only supports rank-1 bias but got rank 4").
  const values = t.dataSync();
  return tf.tensor1d(Float32Array.from(keep, (k) => values[k] as number));
}

/**
 * Removes the neurons not listed in `plan` (per hidden layer, the sorted current indices to
 * keep; layers absent from the plan keep all). Returns physically smaller towers and slots, the
 * updated prune record and, with `keepSnapshot`, the pre-prune weights.
 */
export function prune(
  towers: DenseTowers,
  slots: TowerSlots,
  plan: Readonly<Record<string, Int32Array>>,
  opts: PruneOptions = {},
): PruneResult {
  checkPlan(towers, plan);
  checkSlots(towers, slots);
  const record = nextRecord(towers, plan, opts);
  const snapshot: PruneSnapshot | undefined = opts.keepSnapshot ? { ...opts.snapshot } : undefined;
  const out: SurgeryResult = { towers: { bottom: [], top: [] }, slots: { bottom: [], top: [] } };
  for (const tower of TOWERS) {
    const layers = towers[tower];
    layers.forEach((layer, i) => {
      const layerSlots = slots[tower][i] as LayerSlots;
      const outKeep = i < layers.length - 1 ? plan[`${tower}.${i}`] : undefined;
      const inKeep = i > 0 ? plan[`${tower}.${i - 1}`] : undefined;
      if (outKeep === undefined && inKeep === undefined) {
        out.towers[tower].push(layer);
        out.slots[tower].push(layerSlots);
        return;
      }
      const cutB = (b: tf.Tensor1D) => (outKeep === undefined ? b : cut1(b, outKeep));
      const next: DenseLayer = { w: cut2(layer.w, inKeep, outKeep), b: cutB(layer.b) };
      const nextSlots: LayerSlots = {
        w: layerSlots.w.map((s) => cut2(s, inKeep, outKeep)),
        b: layerSlots.b.map(cutB),
      };
      const key = `${tower}.${i}`;
      if (snapshot !== undefined && snapshot[key] === undefined) {
        // The snapshot owns the original tensors (weights and optimizer slots, for `restore`);
        // an unchanged bias and its slots are shared with the pruned model, so they get clones.
        const shared = outKeep === undefined;
        snapshot[key] = {
          w: layer.w,
          b: shared ? tf.clone(layer.b) : layer.b,
          slotW: layerSlots.w,
          slotB: shared ? layerSlots.b.map((t) => tf.clone(t)) : layerSlots.b,
        };
      } else {
        layer.w.dispose();
        if (next.b !== layer.b) layer.b.dispose();
        layerSlots.w.forEach((s) => s.dispose());
        if (outKeep !== undefined) layerSlots.b.forEach((s) => s.dispose());
      }
      out.towers[tower].push(next);
      out.slots[tower].push(nextSlots);
    });
  }
  return snapshot === undefined ? { ...out, record } : { ...out, record, snapshot };
}
