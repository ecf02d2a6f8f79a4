import * as tf from '@tensorflow/tfjs-core';
// Ops' gradients are registered by this side-effect import (the full @tensorflow/tfjs does it too).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { ModelConfig } from '../../schemas/model-config';
import type { ColumnarBatch } from '../data/batch';
import { DataError } from '../errors';
import { createRng, type Rng } from '../rng';
import { createDenseOptimizer, type DenseOptimizer } from './dense-optimizer';
import { dlrmForward, type DlrmProbes } from './dlrm';
import { createEmbeddingStore, type EmbeddingStore } from './embedding-store';
import { initTowers } from './init';
import { bceWithLogits } from './loss';
import type { MlpProbes } from './mlp';
import {
  hiddenLayerName,
  type DenseTowers,
  type Mlp,
  type TowerName,
  type TowerSlots,
} from './params';

/** What one training step reports. */
export interface StepResult {
  /** Mean BCE loss of the batch, before the update. */
  loss: number;
  /**
   * With `probeActivations`: per hidden layer (`bottom.0`, …) the per-neuron batch mean of
   * |activation × dLoss/dactivation|, at the layer's current width.
   */
  activationStats?: Record<string, Float32Array>;
}

/**
 * The DLRM trainer: the model's parameters, its optimizers and the training step. Used by the
 * offline AGP loop, the recurring trainer and the benchmarks.
 */
export interface Trainer {
  readonly config: ModelConfig;
  /** Dense weights, owned by the trainer. AGP surgery may replace them (and `slots`) between steps. */
  towers: DenseTowers;
  /** Dense optimizer state, parallel to `towers`. */
  slots: TowerSlots;
  readonly embeddings: EmbeddingStore;
  readonly denseOptimizer: DenseOptimizer;
  /** Forward, backward, dense update and sparse embedding update on one batch. */
  step(batch: ColumnarBatch, opts?: { probeActivations?: boolean }): StepResult;
  /** Click probabilities [B], no training. */
  predict(batch: ColumnarBatch): Float32Array;
  /** Number of steps taken (checkpointed). */
  stepCount: number;
  /** Frees every tensor the trainer owns. */
  dispose(): void;
}

/** The parts a trainer is built from (a fresh initialisation or a checkpoint). */
export interface TrainerState {
  towers: DenseTowers;
  slots: TowerSlots;
  embeddings: EmbeddingStore;
  stepCount: number;
}

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

function flatten(towers: DenseTowers): tf.Tensor[] {
  return TOWERS.flatMap((t) => towers[t].flatMap((l) => [l.w, l.b]));
}

/** Rebuilds towers from tensors in the order of `flatten`, with the layer counts of `like`. */
function unflatten(like: DenseTowers, tensors: readonly tf.Tensor[]): DenseTowers {
  let k = 0;
  const take = (mlp: Mlp): Mlp =>
    mlp.map(() => ({ w: tensors[k++] as tf.Tensor2D, b: tensors[k++] as tf.Tensor1D }));
  return { bottom: take(like.bottom), top: take(like.top) };
}

function checkBatch(config: ModelConfig, batch: ColumnarBatch): void {
  const B = batch.size;
  const problems: string[] = [];
  if (batch.numDense !== config.numDense)
    problems.push(`numDense ${batch.numDense} ≠ model's ${config.numDense}`);
  if (batch.numSparse !== config.tableSizes.length)
    problems.push(`numSparse ${batch.numSparse} ≠ model's ${config.tableSizes.length} tables`);
  if (batch.dense.length !== B * batch.numDense)
    problems.push(`dense has ${batch.dense.length} values for ${B} rows`);
  if (batch.sparse.length !== B * batch.numSparse)
    problems.push(`sparse has ${batch.sparse.length} values for ${B} rows`);
  if (batch.labels.length !== B)
    problems.push(`labels has ${batch.labels.length} values for ${B} rows`);
  if (B < 1) problems.push('empty batch');
  if (problems.length > 0)
    throw new DataError(`batch does not fit the model: ${problems.join('; ')}`);
}

/** Zero probes [B, width] for every hidden layer (all but the last of each tower). */
function makeProbes(towers: DenseTowers, batchSize: number): DlrmProbes {
  const forTower = (mlp: Mlp): MlpProbes => ({
    probes: mlp.slice(0, -1).map((l) => tf.zeros([batchSize, l.w.shape[1]]) as tf.Tensor2D),
    activations: [],
  });
  return { bottom: forTower(towers.bottom), top: forTower(towers.top) };
}

/** Builds a trainer around existing state (used by createTrainer and loadCheckpoint). */
export function trainerFromState(config: ModelConfig, state: TrainerState): Trainer {
  const denseOptimizer = createDenseOptimizer(config.denseOptimizer);
  const numDense = config.numDense;
  const numTables = config.tableSizes.length;

  const trainer: Trainer = {
    config,
    towers: state.towers,
    slots: state.slots,
    embeddings: state.embeddings,
    denseOptimizer,
    stepCount: state.stepCount,

    step(batch, opts) {
      checkBatch(config, batch);
      const B = batch.size;
      const probing = opts?.probeActivations === true;
      const towers = trainer.towers;
      const params = flatten(towers);
      let loss = Number.NaN;
      let activationStats: Record<string, Float32Array> | undefined;
      const denseGrads = tf.tidy(() => {
        const slab = trainer.embeddings.gather(batch.sparse, B);
        const dense = tf.tensor2d(batch.dense, [B, numDense]);
        const labels = tf.tensor2d(batch.labels, [B, 1]);
        const probes = probing ? makeProbes(towers, B) : undefined;
        const probeTensors = probes ? [...probes.bottom.probes, ...probes.top.probes] : [];
        const nBottom = probes?.bottom.probes.length ?? 0;
        const lossOf = (...xs: tf.Tensor[]): tf.Scalar => {
          const at = params.length + 1;
          const probed: DlrmProbes | undefined = probes && {
            bottom: {
              probes: xs.slice(at, at + nBottom) as tf.Tensor2D[],
              activations: probes.bottom.activations,
            },
            top: {
              probes: xs.slice(at + nBottom) as tf.Tensor2D[],
              activations: probes.top.activations,
            },
          };
          const logits = dlrmForward(
            unflatten(towers, xs),
            dense,
            xs[params.length] as tf.Tensor3D,
            probed,
          );
          return bceWithLogits(logits, labels);
        };
        let result: { value: tf.Scalar; grads: tf.Tensor[] };
        try {
          result = tf.valueAndGrads(lossOf)([...params, slab, ...probeTensors]);
        } catch (error) {
          // Kept activations are outside tidy's reach.
          if (probes) tf.dispose([...probes.bottom.activations, ...probes.top.activations]);
          throw error;
        }
        const { value, grads } = result;
        // The reads of a step: the loss, and the slab gradient the JS-side store needs (on
        // wasm and cpu the interaction also runs in JS: see interaction-arch.ts).
        loss = (value.dataSync() as Float32Array)[0] as number;
        const slabGrad = grads[params.length] as tf.Tensor;
        trainer.embeddings.applyGradients(batch.sparse, slabGrad.dataSync() as Float32Array);
        if (probes) activationStats = taylorStats(probes, grads.slice(params.length + 1));
        return grads.slice(0, params.length);
      });
      trainer.stepCount += 1;
      denseOptimizer.apply(towers, unflatten(towers, denseGrads), trainer.slots, trainer.stepCount);
      tf.dispose(denseGrads);
      return activationStats === undefined ? { loss } : { loss, activationStats };
    },

    predict(batch) {
      checkBatch(config, batch);
      const B = batch.size;
      return tf.tidy(() => {
        const slab = trainer.embeddings.gather(batch.sparse, B);
        const dense = tf.tensor2d(batch.dense, [B, numDense]);
        const p = tf.sigmoid(dlrmForward(trainer.towers, dense, slab));
        return Float32Array.from(p.dataSync());
      });
    },

    dispose() {
      tf.dispose(flatten(trainer.towers));
      for (const t of TOWERS) trainer.slots[t].forEach((s) => tf.dispose([...s.w, ...s.b]));
    },
  };
  if (numTables !== state.embeddings.tableSizes.length) {
    throw new DataError(
      `the embedding store has ${state.embeddings.tableSizes.length} tables, the config ${numTables}`,
    );
  }
  return trainer;
}

/** Per-neuron mean |a × g| for every probed layer; disposes the kept activations. */
function taylorStats(
  probes: DlrmProbes,
  probeGrads: readonly tf.Tensor[],
): Record<string, Float32Array> {
  const stats: Record<string, Float32Array> = {};
  let k = 0;
  for (const tower of TOWERS) {
    probes[tower].activations.forEach((a, index) => {
      const g = probeGrads[k++] as tf.Tensor;
      const score = tf.tidy(() => tf.mean(tf.abs(tf.mul(a, g)), 0));
      stats[hiddenLayerName({ tower, index })] = Float32Array.from(score.dataSync());
      score.dispose();
    });
    tf.dispose(probes[tower].activations);
  }
  return stats;
}

/**
 * A freshly initialised trainer (DLRM reference initialisation) on the current tfjs backend.
 * `opts.rng` overrides the generator seeded from `config.seed`.
 */
export function createTrainer(config: ModelConfig, opts: { rng?: Rng } = {}): Trainer {
  const rng = opts.rng ?? createRng(config.seed);
  const towers = initTowers(config, rng);
  const embeddings = createEmbeddingStore({
    tableSizes: config.tableSizes,
    dim: config.embeddingDim,
    optimizer: config.embeddingOptimizer,
    rng,
  });
  const slots = createDenseOptimizer(config.denseOptimizer).initSlots(towers);
  return trainerFromState(config, { towers, slots, embeddings, stepCount: 0 });
}
