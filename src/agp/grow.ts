import * as tf from '@tensorflow/tfjs-core';
import type { GrowthPolicy } from '../../schemas/agp-config';
import { AgpError } from '../errors';
import type { DenseTowers, LayerSlots, TowerName, TowerSlots } from '../model/params';
import type { Rng } from '../rng';
import type { PruneRecord, PruneSnapshot, PrunedLayer } from './prune-record';
import { disposeSnapshot } from './prune-record';
import type { SurgeryResult } from './surgery';

/**
 * Grow surgery: rebuilds full-width tensors. Kept neurons return to their original positions
 * with their weights and optimizer slots; regrown neurons are initialised by the policy and
 * their slots start at zero (every slot entry that touches a regrown neuron is 0).
 *
 * - `split` (Net2Net wider): each regrown neuron copies a kept neuron drawn with probability ∝
 *   importance — its incoming column plus noise (splitNoise × that column's std) and its bias —
 *   and the outgoing rows of a source and its copies become the source's row divided by their
 *   number, so the function is unchanged up to the noise.
 * - `zero-out`: fresh Glorot-normal incoming weights, zero bias, zero outgoing weights (function
 *   preserving).
 * - `restore`: the weights and optimizer slots from before the prune (needs the snapshot): the
 *   neuron returns exactly as it left (rotation, below, rests each neuron in turn).
 * - `random`: fresh Glorot-normal incoming and outgoing weights, zero bias.
 *
 * Consecutive pruned layers are grown in order l = 0, 1, …: layer l's step writes W_{l+1}'s
 * rows, then layer l+1's step writes W_{l+1}'s columns over all rows, which is Net2Net's
 * sequential composition, so `split` and `zero-out` stay function-preserving.
 *
 * The rebuild runs on host arrays (read once, written once per event): it happens a few times
 * per run, and it is exact and identical on every backend.
 */

/** Options of `grow`. */
export interface GrowOptions {
  /** Pre-prune weights from `prune(…, { keepSnapshot: true })`; required by `restore`. Disposed by grow. */
  snapshot?: PruneSnapshot;
  /** `split` noise as a multiple of the copied column's std. @default 0.01 */
  splitNoise?: number;
  /** Current importance of the kept neurons (aligned with the current columns), for `split`; defaults to the record's. */
  importance?: Readonly<Record<string, Float32Array>>;
}

/** A row-major [rows, cols] host matrix. */
interface Mat {
  rows: number;
  cols: number;
  data: Float32Array;
}

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

function identity(n: number): number[] {
  return Array.from({ length: n }, (_, j) => j);
}

/** Places a compact [kr, kc] matrix at rows `rowIdx` × columns `colIdx` of a zero [rows, cols]. */
function expand(
  compact: Float32Array,
  rowIdx: number[],
  colIdx: number[],
  rows: number,
  cols: number,
): Mat {
  const data = new Float32Array(rows * cols);
  const kc = colIdx.length;
  rowIdx.forEach((r, i) =>
    colIdx.forEach((c, j) => (data[r * cols + c] = compact[i * kc + j] ?? 0)),
  );
  return { rows, cols, data };
}

function regrownOf(layer: PrunedLayer): number[] {
  const kept = new Set(layer.kept);
  return identity(layer.fullWidth).filter((j) => !kept.has(j));
}

function glorotStd(fanIn: number, fanOut: number): number {
  return Math.sqrt(2 / (fanIn + fanOut));
}

/** Draws an index with probability ∝ weights (uniform when no weight is positive). */
function sampler(weights: readonly number[], rng: Rng): () => number {
  const w = weights.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const total = w.reduce((a, b) => a + b, 0);
  if (total <= 0) return () => rng.int(w.length);
  const cumulative: number[] = [];
  w.reduce((acc, v) => (cumulative.push(acc + v), acc + v), 0);
  return () => {
    const u = rng.next() * total;
    const i = cumulative.findIndex((c) => u < c);
    return i < 0 ? w.length - 1 : i;
  };
}

interface LayerArrays {
  w: Mat;
  b: Float32Array;
  next: Mat;
}

function columnStd(m: Mat, col: number): number {
  let sum = 0;
  let sq = 0;
  for (let r = 0; r < m.rows; r++) {
    const v = m.data[r * m.cols + col] ?? 0;
    sum += v;
    sq += v * v;
  }
  const mean = sum / m.rows;
  return Math.sqrt(Math.max(0, sq / m.rows - mean * mean));
}

function splitNeurons(
  a: LayerArrays,
  layer: PrunedLayer,
  importance: readonly number[],
  noise: number,
  rng: Rng,
): void {
  const { w, b, next } = a;
  if (importance.length !== layer.kept.length) {
    throw new AgpError(
      'InvalidImportance',
      `split growth needs one importance score per kept neuron (${layer.kept.length}), got ${importance.length}`,
    );
  }
  const draw = sampler(importance, rng);
  const copies = new Map<number, number[]>();
  for (const j of regrownOf(layer)) {
    const s = layer.kept[draw()] ?? 0;
    const std = noise > 0 ? noise * columnStd(w, s) : 0;
    for (let r = 0; r < w.rows; r++) {
      const v = w.data[r * w.cols + s] ?? 0;
      w.data[r * w.cols + j] = std > 0 ? v + std * rng.normal() : v;
    }
    b[j] = b[s] ?? 0;
    copies.set(s, [...(copies.get(s) ?? []), j]);
  }
  for (const [s, js] of copies) {
    const share = 1 / (js.length + 1);
    for (let c = 0; c < next.cols; c++) {
      const v = (next.data[s * next.cols + c] ?? 0) * share;
      next.data[s * next.cols + c] = v;
      for (const j of js) next.data[j * next.cols + c] = v;
    }
  }
}

function freshNeurons(a: LayerArrays, layer: PrunedLayer, randomOut: boolean, rng: Rng): void {
  const { w, b, next } = a;
  const inStd = glorotStd(w.rows, w.cols);
  const outStd = glorotStd(next.rows, next.cols);
  for (const j of regrownOf(layer)) {
    for (let r = 0; r < w.rows; r++) w.data[r * w.cols + j] = inStd * rng.normal();
    b[j] = 0;
    for (let c = 0; c < next.cols; c++)
      next.data[j * next.cols + c] = randomOut ? outStd * rng.normal() : 0;
  }
}

function restoreNeurons(
  a: LayerArrays,
  layer: PrunedLayer,
  orig: { w: Mat; b: Float32Array; next: Mat },
): void {
  const { w, b, next } = a;
  for (const j of regrownOf(layer)) {
    for (let r = 0; r < w.rows; r++) w.data[r * w.cols + j] = orig.w.data[r * w.cols + j] ?? 0;
    b[j] = orig.b[j] ?? 0;
    next.data.set(orig.next.data.subarray(j * next.cols, (j + 1) * next.cols), j * next.cols);
  }
}

function hostMat(t: tf.Tensor2D): Mat {
  return { rows: t.shape[0], cols: t.shape[1], data: Float32Array.from(t.dataSync()) };
}

function snapshotOf(snapshot: PruneSnapshot | undefined, key: string, rows: number, cols: number) {
  const s = snapshot?.[key];
  if (s === undefined || s.w.shape[0] !== rows || s.w.shape[1] !== cols) {
    throw new AgpError(
      'MissingSnapshot',
      `restore growth needs the pre-prune weights of ${key} [${rows}, ${cols}]`,
    );
  }
  return {
    w: hostMat(s.w),
    b: Float32Array.from(s.b.dataSync()),
    slotW: (s.slotW ?? []).map(hostMat),
    slotB: (s.slotB ?? []).map((t) => Float32Array.from(t.dataSync())),
  };
}

/**
 * Grows every layer in `record` back to full width. Takes over `towers`, `slots` and
 * `opts.snapshot` (disposes what it replaces) and returns full-width towers and slots.
 */
export function grow(
  towers: DenseTowers,
  slots: TowerSlots,
  record: PruneRecord,
  policy: GrowthPolicy,
  rng: Rng,
  opts: GrowOptions = {},
): SurgeryResult {
  // All host work (and every check that can throw) first, so a failure leaves the model intact.
  const host = { bottom: growTower('bottom'), top: growTower('top') };
  const out: SurgeryResult = { towers: { bottom: [], top: [] }, slots: { bottom: [], top: [] } };
  for (const tower of TOWERS) {
    towers[tower].forEach((layer, i) => {
      const h = host[tower][i];
      const s = slots[tower][i] as LayerSlots;
      if (h === undefined) {
        out.towers[tower].push(layer);
        out.slots[tower].push(s);
        return;
      }
      const t2 = (m: Mat) => tf.tensor2d(m.data, [m.rows, m.cols], 'float32');
      const t1 = (v: Float32Array) => tf.tensor1d(v, 'float32');
      out.towers[tower].push({ w: t2(h.w), b: t1(h.b) });
      out.slots[tower].push({ w: h.slotW.map(t2), b: h.slotB.map(t1) });
      layer.w.dispose();
      layer.b.dispose();
      s.w.forEach((t) => t.dispose());
      s.b.forEach((t) => t.dispose());
    });
  }
  if (opts.snapshot !== undefined) disposeSnapshot(opts.snapshot);
  return out;

  function growTower(tower: TowerName) {
    const layers = towers[tower];
    if (slots[tower].length !== layers.length) {
      throw new AgpError(
        'InvalidSlots',
        `optimizer slots of the ${tower} tower do not match its layers`,
      );
    }
    const pruned = (i: number) =>
      i >= 0 && i < layers.length - 1 ? record.layers[`${tower}.${i}`] : undefined;
    // Host copies, at full size, of every layer whose rows or columns come back.
    const host = layers.map((layer, i) => {
      const outL = pruned(i);
      const inL = pruned(i - 1);
      if (outL === undefined && inL === undefined) return undefined;
      const [rowsC, colsC] = layer.w.shape;
      const rowIdx = inL?.kept ?? identity(rowsC);
      const colIdx = outL?.kept ?? identity(colsC);
      if (rowIdx.length !== rowsC || colIdx.length !== colsC) {
        throw new AgpError(
          'InvalidPruneRecord',
          `${tower}.${i} is [${rowsC}, ${colsC}] but the prune record expects [${rowIdx.length}, ${colIdx.length}]`,
        );
      }
      const rows = inL?.fullWidth ?? rowsC;
      const cols = outL?.fullWidth ?? colsC;
      const grow2 = (t: tf.Tensor2D) =>
        expand(t.dataSync() as Float32Array, rowIdx, colIdx, rows, cols);
      const grow1 = (t: tf.Tensor1D) =>
        expand(t.dataSync() as Float32Array, [0], colIdx, 1, cols).data;
      const s = slots[tower][i] as LayerSlots;
      return { w: grow2(layer.w), b: grow1(layer.b), slotW: s.w.map(grow2), slotB: s.b.map(grow1) };
    });
    for (let i = 0; i < layers.length - 1; i++) {
      const layer = pruned(i);
      const a = host[i];
      const n = host[i + 1];
      if (layer === undefined || a === undefined || n === undefined) continue;
      const arrays: LayerArrays = { w: a.w, b: a.b, next: n.w };
      if (policy === 'split') {
        const current = opts.importance?.[`${tower}.${i}`];
        const scores = current ? Array.from(current) : layer.importance;
        splitNeurons(arrays, layer, scores, opts.splitNoise ?? 0.01, rng);
      } else if (policy === 'restore') {
        const o = snapshotOf(opts.snapshot, `${tower}.${i}`, a.w.rows, a.w.cols);
        const on = snapshotOf(opts.snapshot, `${tower}.${i + 1}`, n.w.rows, n.w.cols);
        restoreNeurons(arrays, layer, { w: o.w, b: o.b, next: on.w });
        // The optimizer state comes back with the weights (a snapshot from before slots were
        // kept has none: those entries stay at zero, like any regrown neuron's).
        a.slotW.forEach((sw, k) => {
          const ow = o.slotW[k];
          const ob = o.slotB[k];
          const onw = on.slotW[k];
          const nw = n.slotW[k];
          const sb = a.slotB[k];
          if (ow === undefined || ob === undefined || onw === undefined) return;
          if (nw === undefined || sb === undefined) return;
          restoreNeurons({ w: sw, b: sb, next: nw }, layer, { w: ow, b: ob, next: onw });
        });
      } else {
        freshNeurons(arrays, layer, policy === 'random', rng);
      }
    }
    return host;
  }
}
