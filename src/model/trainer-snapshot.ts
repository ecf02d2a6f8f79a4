import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../errors';
import { createEmbeddingStore } from './embedding-store';
import type { DenseTowers, TowerName, TowerSlots } from './params';
import { trainerFromState, type Trainer } from './trainer';

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

function cloneTowers(towers: DenseTowers): DenseTowers {
  const clone = (t: TowerName) => towers[t].map((l) => ({ w: tf.clone(l.w), b: tf.clone(l.b) }));
  return { bottom: clone('bottom'), top: clone('top') };
}

function cloneSlots(slots: TowerSlots): TowerSlots {
  const clone = (t: TowerName) =>
    slots[t].map((s) => ({ w: s.w.map((x) => tf.clone(x)), b: s.b.map((x) => tf.clone(x)) }));
  return { bottom: clone('bottom'), top: clone('top') };
}

function disposeDense(towers: DenseTowers, slots: TowerSlots): void {
  for (const t of TOWERS) {
    towers[t].forEach((l) => tf.dispose([l.w, l.b]));
    slots[t].forEach((s) => tf.dispose([...s.w, ...s.b]));
  }
}

/**
 * A new trainer holding a copy of `source`'s state at this moment: dense weights and optimizer
 * slots (tensors are immutable, so a clone is cheap), embedding rows and Adagrad accumulators
 * (copied: the source's step updates them in place) and the step count. Its predictions and a
 * checkpoint saved from it are those of `source` now, bit for bit, whatever `source` trains
 * afterwards. The caller owns it and disposes it.
 */
export function snapshotTrainer(source: Trainer): Trainer {
  const e = source.embeddings;
  const embeddings = createEmbeddingStore({
    tableSizes: e.tableSizes,
    dim: e.dim,
    optimizer: e.optimizer,
    tables: e.tables.map((t) => t.slice()),
    ...(e.accumulators === null ? {} : { accumulators: e.accumulators.map((a) => a.slice()) }),
  });
  return trainerFromState(source.config, {
    towers: cloneTowers(source.towers),
    slots: cloneSlots(source.slots),
    embeddings,
    stepCount: source.stepCount,
  });
}

/**
 * Overwrites `target` (a {@link snapshotTrainer} of the same model) with `source`'s state at this
 * moment, reusing its embedding buffers instead of allocating the tables again.
 * @throws DataError when the two do not have the same tables.
 */
export function copyTrainerState(target: Trainer, source: Trainer): void {
  const from = source.embeddings;
  const to = target.embeddings;
  const sameTables =
    from.dim === to.dim &&
    from.tableSizes.length === to.tableSizes.length &&
    from.tableSizes.every((rows, f) => rows === to.tableSizes[f]) &&
    (from.accumulators === null) === (to.accumulators === null);
  if (!sameTables) {
    throw new DataError('copyTrainerState: the snapshot and the trainer have different tables');
  }
  from.tables.forEach((t, f) => (to.tables[f] as Float32Array).set(t));
  from.accumulators?.forEach((a, f) => (to.accumulators?.[f] as Float32Array).set(a));
  const towers = cloneTowers(source.towers);
  const slots = cloneSlots(source.slots);
  disposeDense(target.towers, target.slots);
  target.towers = towers;
  target.slots = slots;
  target.stepCount = source.stepCount;
}

/** Bytes of a trainer's embedding rows and accumulators (what a snapshot copies). */
export function embeddingBytes(trainer: Trainer): number {
  const e = trainer.embeddings;
  const floats =
    e.tables.reduce((n, t) => n + t.length, 0) +
    (e.accumulators?.reduce((n, a) => n + a.length, 0) ?? 0);
  return floats * 4;
}
