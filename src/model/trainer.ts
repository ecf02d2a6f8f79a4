import * as tf from '@tensorflow/tfjs-core';
// Ops' gradients are registered by this side-effect import (the full @tensorflow/tfjs does it too).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { ModelConfig } from '../../schemas/model-config';
import type { ColumnarBatch } from '../data/batch';
import { DataError } from '../errors';
import { createRng, type Rng } from '../rng';
import { createDenseOptimizer, type DenseOptimizer } from './dense-optimizer';
import { createBackprop, type BackpropResult } from './backprop';
import { createEmbeddingStore, type EmbeddingStore } from './embedding-store';
import { initTowers } from './init';
import type { DenseLayer, DenseTowers, TowerName, TowerSlots } from './params';

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

/** Options of one training step. */
export interface StepOptions {
  /** Return Taylor activation statistics (AGP's `taylor` importance). */
  probeActivations?: boolean;
  /** Multiplies every configured learning rate for this step (an lr schedule). @default 1 */
  lrScale?: number;
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
  step(batch: ColumnarBatch, opts?: StepOptions): StepResult;
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

/** Builds a trainer around existing state (used by createTrainer and loadCheckpoint). */
export function trainerFromState(config: ModelConfig, state: TrainerState): Trainer {
  const denseOptimizer = createDenseOptimizer(config.denseOptimizer);
  const backprop = createBackprop();
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
      const towers = trainer.towers;
      // Plain SGD folds its learning rate into the backward pass: its update is then w − g.
      const lrScale = opts?.lrScale ?? 1;
      const sgdLr =
        config.denseOptimizer.kind === 'sgd' ? config.denseOptimizer.lr * lrScale : undefined;
      const slab = trainer.embeddings.gather(batch.sparse, B);
      const dense = tf.tensor2d(batch.dense, [B, numDense]);
      let result: BackpropResult;
      try {
        result = backprop.run(
          towers,
          { dense, slab, labels: batch.labels },
          // A zero lr (the last step of a decay to 0) must not scale the gradients to zero:
          // the slab gradient is unscaled by dividing by this factor.
          { gradScale: sgdLr || 1, probe: opts?.probeActivations === true },
        );
      } finally {
        tf.dispose([slab, dense]);
      }
      const { loss, grads, slabGrad, activationStats } = result;
      trainer.stepCount += 1;
      // At lr 0 (the last step of a decay to 0) nothing moves; the loss was still computed.
      if (lrScale !== 0) {
        trainer.embeddings.applyGradients(batch.sparse, slabGrad, lrScale);
        if (sgdLr !== undefined) {
          for (const t of TOWERS) {
            towers[t].forEach((layer, i) => {
              const g = grads[t][i] as DenseLayer;
              const w: tf.Tensor2D = tf.sub(layer.w, g.w);
              const b: tf.Tensor1D = tf.sub(layer.b, g.b);
              tf.dispose([layer.w, layer.b]);
              layer.w = w;
              layer.b = b;
            });
          }
        } else {
          denseOptimizer.apply(towers, grads, trainer.slots, trainer.stepCount, lrScale);
        }
      }
      tf.dispose(flatten(grads));
      return activationStats === undefined ? { loss } : { loss, activationStats };
    },

    predict(batch) {
      checkBatch(config, batch);
      const B = batch.size;
      return tf.tidy(() => {
        const slab = trainer.embeddings.gather(batch.sparse, B);
        const dense = tf.tensor2d(batch.dense, [B, numDense]);
        const p = tf.sigmoid(backprop.forward(trainer.towers, dense, slab));
        return Float32Array.from(p.dataSync());
      });
    },

    dispose() {
      backprop.dispose();
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
