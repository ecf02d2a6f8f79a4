import * as tf from '@tensorflow/tfjs-core';
import type { DenseTowers, TowerName } from '../model/params';
import { AgpError } from '../errors';

/**
 * A higher learning rate for regrown neurons (issue 22 item 5, ALGORITHM.md): after a grow
 * event, every weight that touches a regrown neuron — its incoming column and bias in layer l,
 * its outgoing row in layer l + 1 — moves `factor` times as far per step as the optimizer says,
 * the factor decaying linearly to 1 over `steps` steps. The rest of the model trains as before.
 *
 * Why an update multiplier instead of a per-neuron lr inside the optimizer: it is exact for
 * every optimizer (SGD, momentum, Adam: each update is lr × something, so scaling the update is
 * scaling that neuron's lr) and needs no change to the fused step graph — the step runs as
 * always, then w ← w_new + (k − 1)·(w_new − w_old)·mask on the affected tensors. It costs one
 * copy of those tensors per step, only during the boost.
 */

/** Regrown (full-width) neuron indices per hidden layer name, e.g. `{ 'bottom.0': [3, 17] }`. */
export type RegrownNeurons = Readonly<Record<string, readonly number[]>>;

/** The boost as stored in a checkpoint (plain JSON). */
export interface RegrownLrState {
  regrown: Record<string, number[]>;
  fromStep: number;
  steps: number;
  factor: number;
}

interface Target {
  tower: TowerName;
  index: number;
  part: 'w' | 'b';
  /** 1 where the entry touches a regrown neuron, 0 elsewhere; shaped like the tensor. */
  mask: tf.Tensor;
}

/** A boost armed at a grow event; {@link RegrownLrBoost.around} wraps each training step. */
export interface RegrownLrBoost {
  /** Whether step `step` is boosted. */
  active(step: number): boolean;
  /** The multiplier at `step` (1 outside the boost). */
  factorAt(step: number): number;
  /** Runs `train` (one step) and scales the boosted entries' updates. */
  around<T>(step: number, towers: () => DenseTowers, train: () => T): T;
  toJSON(): RegrownLrState;
  dispose(): void;
}

function parseLayer(name: string): { tower: TowerName; index: number } {
  const m = /^(bottom|top)\.(\d+)$/.exec(name);
  if (m === null) throw new AgpError('BadLayer', `not a hidden layer name: '${name}'`);
  return { tower: m[1] as TowerName, index: Number(m[2]) };
}

/** Builds the 0/1 masks of every tensor a regrown neuron touches (full-width towers). */
function buildTargets(towers: DenseTowers, regrown: RegrownNeurons): Target[] {
  // Per tensor: rows (inputs) and columns (outputs) that belong to a regrown neuron.
  const rows = new Map<string, Set<number>>();
  const cols = new Map<string, Set<number>>();
  const key = (tower: TowerName, index: number) => `${tower}.${index}`;
  for (const [name, neurons] of Object.entries(regrown)) {
    if (neurons.length === 0) continue;
    const { tower, index } = parseLayer(name);
    const layer = towers[tower][index];
    const next = towers[tower][index + 1];
    if (layer === undefined || next === undefined) {
      throw new AgpError('BadLayer', `'${name}' is not a hidden layer of this model`);
    }
    const width = layer.w.shape[1];
    for (const j of neurons) {
      if (!Number.isInteger(j) || j < 0 || j >= width) {
        throw new AgpError('BadLayer', `${name}: neuron ${j} outside its width ${width}`);
      }
    }
    cols.set(key(tower, index), new Set(neurons));
    rows.set(key(tower, index + 1), new Set(neurons));
  }
  const targets: Target[] = [];
  for (const tower of ['bottom', 'top'] as const) {
    towers[tower].forEach((layer, index) => {
      const r = rows.get(key(tower, index));
      const c = cols.get(key(tower, index));
      if (r === undefined && c === undefined) return;
      const [nIn, nOut] = layer.w.shape;
      const w = new Float32Array(nIn * nOut);
      for (let i = 0; i < nIn; i++) {
        for (let j = 0; j < nOut; j++) {
          if (r?.has(i) === true || c?.has(j) === true) w[i * nOut + j] = 1;
        }
      }
      targets.push({ tower, index, part: 'w', mask: tf.tensor2d(w, [nIn, nOut]) });
      if (c !== undefined) {
        const b = new Float32Array(nOut);
        for (const j of c) b[j] = 1;
        targets.push({ tower, index, part: 'b', mask: tf.tensor1d(b) });
      }
    });
  }
  return targets;
}

/**
 * Arms a boost for `steps` steps from `fromStep` on the (full-width) `towers`, or returns
 * undefined when there is nothing to boost (factor 1, no steps, no regrown neuron).
 */
export function createRegrownLrBoost(
  towers: DenseTowers,
  state: RegrownLrState,
): RegrownLrBoost | undefined {
  if (state.factor <= 1 || state.steps <= 0) return undefined;
  const targets = buildTargets(towers, state.regrown);
  if (targets.length === 0) return undefined;
  const end = state.fromStep + state.steps;
  const factorAt = (step: number): number => {
    if (step < state.fromStep || step >= end) return 1;
    // Linear from `factor` at the grow to 1 at the end: no jump in either direction.
    return 1 + (state.factor - 1) * (1 - (step - state.fromStep) / state.steps);
  };
  return {
    active: (step) => step >= state.fromStep && step < end,
    factorAt,
    around<T>(step: number, towersOf: () => DenseTowers, train: () => T): T {
      const extra = factorAt(step) - 1;
      if (extra <= 0) return train();
      const before = targets.map((t) => tf.clone(towersOf()[t.tower][t.index]![t.part]));
      let result: T;
      try {
        result = train();
      } catch (e) {
        tf.dispose(before);
        throw e;
      }
      const now = towersOf();
      targets.forEach((t, k) => {
        const layer = now[t.tower][t.index]!;
        const updated = layer[t.part];
        const old = before[k]!;
        const boosted = tf.tidy(() =>
          tf.add(updated, tf.mul(tf.mul(tf.sub(updated, old), t.mask), extra)),
        );
        tf.dispose([updated, old]);
        if (t.part === 'w') layer.w = boosted as tf.Tensor2D;
        else layer.b = boosted as tf.Tensor1D;
      });
      return result;
    },
    toJSON: () => ({
      regrown: Object.fromEntries(Object.entries(state.regrown).map(([k, v]) => [k, [...v]])),
      fromStep: state.fromStep,
      steps: state.steps,
      factor: state.factor,
    }),
    dispose: () => tf.dispose(targets.map((t) => t.mask)),
  };
}
