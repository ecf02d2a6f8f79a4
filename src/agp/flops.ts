import { bottomInputWidth } from '../../schemas/model-config';
import { AgpError } from '../errors';
import type { AgpPhase, PhaseSpan, Widths } from './schedule';

/**
 * FLOP accounting. Pure: no tensors. The unit is the multiply-add (MAC); a bias add or a ReLU's
 * gradient mask is not a MAC, but the bias is counted as one extra input of constant 1, which
 * keeps the counts simple and exact. Counted per step of batch B, per layer at its current width:
 *
 * - dense layer in → out, forward: B·out·(in + 1) (x·W + b);
 * - backward: gradient wrt W and b, B·out·(in + 1), plus gradient wrt the input, B·in·out,
 *   except for the first bottom layer, whose input is data;
 * - dot interaction over n = tables + 1 vectors of dim D, strictly-lower triangle
 *   (p = n(n−1)/2 pairs): forward B·p·D, backward 2·B·p·D (each pair feeds both vectors);
 * - embeddings: 0 MACs (gather and sparse row update), reported as rows touched, B·tables.
 *
 * Loss, sigmoid and ReLU are elementwise and not counted. Only the mathematically needed
 * products are counted (e.g. not the upper triangle a batched Z·Zᵀ also computes), so the
 * counts compare regimes, not kernels.
 */

/** The shape of a DLRM, as ModelConfig gives it (full widths). */
export interface FlopArch {
  /** Input width of the bottom MLP (1 without dense features: bottomInputWidth). */
  numDense: number;
  /** Number of embedding tables. */
  numTables: number;
  /** Output widths of the bottom MLP's layers (last = embedding dim). */
  bottom: readonly number[];
  /** Output widths of the top MLP's layers (last = 1). */
  top: readonly number[];
}

/** The FlopArch of a model config (`{ numDense, tableSizes, bottom, top }`). */
export function flopArchOf(cfg: {
  numDense: number;
  tableSizes: readonly number[];
  bottom: readonly number[];
  top: readonly number[];
}): FlopArch {
  return {
    numDense: bottomInputWidth(cfg.numDense),
    numTables: cfg.tableSizes.length,
    bottom: cfg.bottom,
    top: cfg.top,
  };
}

/** Multiply-adds of one layer (or of the interaction) in one step. */
export interface LayerFlops {
  forward: number;
  backward: number;
}

/** Multiply-adds of one training step. */
export interface StepFlops {
  forward: number;
  backward: number;
  /** forward + backward. */
  total: number;
  /** Embedding rows gathered (and updated) this step: B × tables. */
  embeddingRows: number;
  /** Per layer (`bottom.0` … `top.k`, including the last of each tower) and `interaction`. */
  layers: Record<string, LayerFlops>;
}

/** Full widths of the hidden (prunable) layers: every layer of a tower but the last. */
export function hiddenWidthsOf(arch: FlopArch): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tower of ['bottom', 'top'] as const) {
    arch[tower].slice(0, -1).forEach((w, i) => (out[`${tower}.${i}`] = w));
  }
  return out;
}

function embeddingDim(arch: FlopArch): number {
  const d = arch.bottom[arch.bottom.length - 1];
  if (d === undefined || arch.top.length === 0) {
    throw new AgpError('InvalidArch', 'a DLRM needs at least one bottom and one top layer');
  }
  return d;
}

/** Current output width of `tower.i`, checked against the full width. */
function widthOf(arch: FlopArch, widths: Widths, tower: 'bottom' | 'top', i: number): number {
  const full = arch[tower][i] ?? 0;
  if (i === arch[tower].length - 1) return full;
  const w = widths[`${tower}.${i}`] ?? full;
  if (!Number.isInteger(w) || w < 1 || w > full) {
    throw new AgpError(
      'InvalidWidths',
      `width of ${tower}.${i} must be an integer in 1..${full}, got ${w}`,
    );
  }
  return w;
}

/**
 * Multiply-adds of one training step with hidden layers at `widths` (missing = full width)
 * and batch size `batch`.
 */
export function stepFlops(arch: FlopArch, widths: Widths, batch: number): StepFlops {
  const d = embeddingDim(arch);
  const n = arch.numTables + 1;
  const pairs = (n * (n - 1)) / 2;
  const layers: Record<string, LayerFlops> = {};
  let forward = 0;
  let backward = 0;
  for (const tower of ['bottom', 'top'] as const) {
    let input = tower === 'bottom' ? arch.numDense : d + pairs;
    arch[tower].forEach((_, i) => {
      const out = widthOf(arch, widths, tower, i);
      const fwd = batch * out * (input + 1);
      const inputGrad = tower === 'bottom' && i === 0 ? 0 : batch * input * out;
      const layer = { forward: fwd, backward: fwd + inputGrad };
      layers[`${tower}.${i}`] = layer;
      forward += layer.forward;
      backward += layer.backward;
      input = out;
    });
  }
  const interaction = { forward: batch * pairs * d, backward: 2 * batch * pairs * d };
  layers.interaction = interaction;
  forward += interaction.forward;
  backward += interaction.backward;
  return {
    forward,
    backward,
    total: forward + backward,
    embeddingRows: batch * arch.numTables,
    layers,
  };
}

/** Multiply-adds of one full-width training step. */
export function denseStepFlops(arch: FlopArch, batch: number): StepFlops {
  return stepFlops(arch, {}, batch);
}

/** Totals of one phase kind. */
export interface PhaseTotals {
  steps: number;
  flops: number;
  denseFlops: number;
  /** Wall time, when the caller reports it. */
  seconds: number;
}

/** Totals of a run (or a planned timeline). Plain JSON: checkpoints and reports store it. */
export interface FlopTotals {
  steps: number;
  totalFlops: number;
  /** What the same steps cost at full width. */
  denseEquivalentFlops: number;
  /** 1 − totalFlops / denseEquivalentFlops (0 when no step ran). */
  saving: number;
  embeddingRows: number;
  perPhase: Partial<Record<AgpPhase, PhaseTotals>>;
}

function emptyTotals(): FlopTotals {
  return {
    steps: 0,
    totalFlops: 0,
    denseEquivalentFlops: 0,
    saving: 0,
    embeddingRows: 0,
    perPhase: {},
  };
}

function addTo(
  t: FlopTotals,
  phase: AgpPhase,
  steps: number,
  flops: StepFlops,
  dense: StepFlops,
  seconds: number,
): void {
  t.steps += steps;
  t.totalFlops += steps * flops.total;
  t.denseEquivalentFlops += steps * dense.total;
  t.embeddingRows += steps * flops.embeddingRows;
  t.saving = t.denseEquivalentFlops > 0 ? 1 - t.totalFlops / t.denseEquivalentFlops : 0;
  const p = (t.perPhase[phase] ??= { steps: 0, flops: 0, denseFlops: 0, seconds: 0 });
  p.steps += steps;
  p.flops += steps * flops.total;
  p.denseFlops += steps * dense.total;
  p.seconds += seconds;
}

/** Planned totals of a timeline at a constant batch size (used to size `small-dense`). */
export function timelineFlops(
  arch: FlopArch,
  spans: readonly PhaseSpan[],
  batch: number,
): FlopTotals {
  const t = emptyTotals();
  const dense = denseStepFlops(arch, batch);
  for (const s of spans)
    addTo(t, s.phase, s.end - s.start, stepFlops(arch, s.widths, batch), dense, 0);
  return t;
}

/** Accumulates the FLOPs of the steps a run actually trains. */
export interface FlopAccumulator {
  /** Counts one step; `seconds` is its wall time when known. Returns the step's FLOPs. */
  add(step: { phase: AgpPhase; widths: Widths; batchSize: number; seconds?: number }): StepFlops;
  /** Adds wall time to a phase without counting a step (e.g. surgery). */
  addSeconds(phase: AgpPhase, seconds: number): void;
  /** A copy of the totals so far. */
  totals(): FlopTotals;
  /** Same as totals(): the state a checkpoint stores and `createFlopAccumulator` resumes from. */
  toJSON(): FlopTotals;
}

/** Creates an accumulator, optionally resuming from totals a checkpoint stored. */
export function createFlopAccumulator(arch: FlopArch, from?: FlopTotals): FlopAccumulator {
  const t: FlopTotals = from === undefined ? emptyTotals() : structuredClone(from);
  const denseByBatch = new Map<number, StepFlops>();
  const dense = (batch: number): StepFlops => {
    let f = denseByBatch.get(batch);
    if (f === undefined) denseByBatch.set(batch, (f = denseStepFlops(arch, batch)));
    return f;
  };
  return {
    add({ phase, widths, batchSize, seconds = 0 }) {
      const f = stepFlops(arch, widths, batchSize);
      addTo(t, phase, 1, f, dense(batchSize), seconds);
      return f;
    },
    addSeconds(phase, seconds) {
      const p = (t.perPhase[phase] ??= { steps: 0, flops: 0, denseFlops: 0, seconds: 0 });
      p.seconds += seconds;
    },
    totals: () => structuredClone(t),
    toJSON: () => structuredClone(t),
  };
}
