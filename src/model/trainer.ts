import * as tf from '@tensorflow/tfjs-core';
import { bottomInputWidth, type ModelConfig } from '../../schemas/model-config';
import type { ColumnarBatch } from '../data/batch';
import { DataError } from '../errors';
import { createRng, type Rng } from '../rng';
import { createDenseOptimizer, type DenseOptimizer } from './dense-optimizer';
import { createBackprop, type Backprop } from './backprop';
import { createGraphBackprop } from './graph-backprop';
import { createEmbeddingStore, type EmbeddingStore } from './embedding-store';
import { initTowers } from './init';
import type { DenseLayer, DenseTowers, Mlp, TowerName, TowerSlots } from './params';
import type { SkipReason, StepGuard } from './step-guard';

/** What one training step reports. */
export interface StepResult {
  /** Mean BCE loss of the batch, before the update. */
  loss: number;
  /**
   * With `probeActivations`: per hidden layer (`bottom.0`, …) the per-neuron batch mean of
   * |activation × dLoss/dactivation|, at the layer's current width.
   */
  activationStats?: Record<string, Float32Array>;
  /** With a `guard`: the global L2 norm of the batch's gradient (weights and embedding rows). */
  gradNorm?: number;
  /**
   * Set when the guard skipped the batch: nothing was updated (weights, optimizer slots,
   * embeddings and `stepCount` are as before the call).
   */
  skipped?: SkipReason;
  /**
   * With `predictions`: click probabilities [B] from this step's forward pass, i.e. of the model
   * before the step's update (what `predict` would have returned just before the call).
   */
  predictions?: Float32Array;
}

/** Options of one training step. */
export interface StepOptions {
  /** Return Taylor activation statistics (AGP's `taylor` importance). */
  probeActivations?: boolean;
  /** Multiplies every configured learning rate for this step (an lr schedule). @default 1 */
  lrScale?: number;
  /**
   * Judges the step's loss and gradient norm before anything is updated, and skips the batch
   * when it says so (src/model/step-guard.ts). Without one every step is applied.
   */
  guard?: StepGuard;
  /**
   * Return the batch's predictions from the step's own forward pass. The recurring trainer
   * scores every batch before training on it (progressive validation); a separate `predict`
   * repeated the forward pass and cost ~14% of its time per event. @default false
   */
  predictions?: boolean;
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

/** New tensors w − g, b − g_b for every layer (plain SGD whose lr is folded into g). */
function subtract(towers: DenseTowers, grads: DenseTowers): DenseTowers {
  const sub = (mlp: Mlp, gs: Mlp): Mlp =>
    mlp.map((layer, i) => {
      const g = gs[i] as DenseLayer;
      return { w: tf.sub(layer.w, g.w), b: tf.sub(layer.b, g.b) };
    });
  return { bottom: sub(towers.bottom, grads.bottom), top: sub(towers.top, grads.top) };
}

/** Moves `next`'s tensors into `towers` layer by layer, disposing the replaced ones. */
function replaceWeights(towers: DenseTowers, next: DenseTowers): void {
  for (const t of TOWERS) {
    towers[t].forEach((layer, i) => {
      const n = next[t][i] as DenseLayer;
      tf.dispose([layer.w, layer.b]);
      layer.w = n.w;
      layer.b = n.b;
    });
  }
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

/**
 * The bottom MLP's input [B, bottomInputWidth]: the dense features, or a column of ones when
 * there are none (see bottomInputWidth in schemas/model-config.ts).
 */
function bottomInput(batch: ColumnarBatch): tf.Tensor2D {
  if (batch.numDense === 0) return tf.ones([batch.size, 1]);
  return tf.tensor2d(batch.dense, [batch.size, batch.numDense]);
}

/** σ(x) per logit, in float64 then stored as float32 (as tf.sigmoid's result is). */
function sigmoid(logits: Float32Array): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-(logits[i] as number)));
  return out;
}

/** Builds a trainer around existing state (used by createTrainer and loadCheckpoint). */
export function trainerFromState(config: ModelConfig, state: TrainerState): Trainer {
  const denseOptimizer = createDenseOptimizer(config.denseOptimizer);
  // On tensorflow the step is one graph run (see graph-backprop.ts); elsewhere the eager ops.
  const backprop: Backprop =
    createGraphBackprop({
      numDense: bottomInputWidth(config.numDense),
      numBottomLayers: config.bottom.length,
      numTopLayers: config.top.length,
      numSparse: config.tableSizes.length,
      dim: config.embeddingDim,
    }) ?? createBackprop();
  const numTables = config.tableSizes.length;
  // The step's gathered rows, reused from step to step (see EmbeddingStore.gatherInto): the slab
  // tensor made from it is disposed before the step returns, and no result aliases it.
  let slabBuffer = new Float32Array(0);
  const gatherSlab = (batch: ColumnarBatch): tf.Tensor3D => {
    const floats = batch.sparse.length * config.embeddingDim;
    if (slabBuffer.length !== floats) slabBuffer = new Float32Array(floats);
    trainer.embeddings.gatherInto(batch.sparse, batch.size, slabBuffer);
    return tf.tensor3d(slabBuffer, [batch.size, numTables, config.embeddingDim]);
  };

  const trainer: Trainer = {
    config,
    towers: state.towers,
    slots: state.slots,
    embeddings: state.embeddings,
    denseOptimizer,
    stepCount: state.stepCount,

    step(batch, opts) {
      checkBatch(config, batch);
      const towers = trainer.towers;
      // Plain SGD folds its learning rate into the backward pass: its update is then w − g.
      const lrScale = opts?.lrScale ?? 1;
      const sgdLr =
        config.denseOptimizer.kind === 'sgd' ? config.denseOptimizer.lr * lrScale : undefined;
      const slab = gatherSlab(batch);
      const dense = bottomInput(batch);
      const probe = opts?.probeActivations === true;
      const guard = opts?.guard;
      const input = { dense, slab, labels: batch.labels };
      let loss: number;
      let slabGrad: Float32Array;
      let activationStats: Record<string, Float32Array> | undefined;
      let grads: DenseTowers | undefined;
      let updated: DenseTowers | undefined;
      let gradNorm: number | undefined;
      const gradNormWanted = guard !== undefined;
      const logitsWanted = opts?.predictions === true;
      let logits: Float32Array | undefined;
      try {
        if (sgdLr !== undefined && backprop.sgdStep !== undefined) {
          ({ loss, slabGrad, activationStats, updated, gradNorm, logits } = backprop.sgdStep(
            towers,
            input,
            {
              lr: sgdLr,
              probe,
              gradNorm: gradNormWanted,
              logits: logitsWanted,
            },
          ));
        } else {
          // A zero lr (the last step of a decay to 0) must not scale the gradients to zero:
          // the slab gradient is unscaled by dividing by this factor.
          ({ loss, slabGrad, activationStats, grads, gradNorm, logits } = backprop.run(
            towers,
            input,
            {
              gradScale: sgdLr || 1,
              probe,
              gradNorm: gradNormWanted,
              logits: logitsWanted,
            },
          ));
        }
      } finally {
        tf.dispose([slab, dense]);
      }
      const predictions = logits === undefined ? undefined : sigmoid(logits);
      const skipped = guard?.check(loss, gradNorm ?? Number.NaN);
      if (skipped !== undefined) {
        // The update was computed but is dropped: the JS embedding rows, the optimizer slots and
        // the weights are only ever changed below, so nothing of this batch reaches the model.
        if (updated !== undefined) tf.dispose(flatten(updated));
        if (grads !== undefined) tf.dispose(flatten(grads));
        return {
          loss,
          skipped,
          ...(gradNorm === undefined ? {} : { gradNorm }),
          ...(predictions === undefined ? {} : { predictions }),
        };
      }
      trainer.stepCount += 1;
      // At lr 0 (the last step of a decay to 0) nothing moves; the loss was still computed.
      if (lrScale !== 0) {
        trainer.embeddings.applyGradients(batch.sparse, slabGrad, lrScale);
        if (updated !== undefined) replaceWeights(towers, updated);
        else if (grads !== undefined && sgdLr !== undefined)
          replaceWeights(towers, subtract(towers, grads));
        else if (grads !== undefined)
          denseOptimizer.apply(towers, grads, trainer.slots, trainer.stepCount, lrScale);
      } else if (updated !== undefined) {
        tf.dispose(flatten(updated));
      }
      if (grads !== undefined) tf.dispose(flatten(grads));
      return {
        loss,
        ...(activationStats === undefined ? {} : { activationStats }),
        ...(gradNorm === undefined ? {} : { gradNorm }),
        ...(predictions === undefined ? {} : { predictions }),
      };
    },

    predict(batch) {
      checkBatch(config, batch);
      const B = batch.size;
      return tf.tidy(() => {
        const slab = trainer.embeddings.gather(batch.sparse, B);
        const dense = bottomInput(batch);
        const p = tf.sigmoid(backprop.forward(trainer.towers, dense, slab));
        return Float32Array.from(p.dataSync());
      });
    },

    dispose() {
      backprop.dispose();
      denseOptimizer.dispose();
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
