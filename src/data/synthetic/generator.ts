import type { SyntheticResolved } from '../../../schemas/synthetic';
import { createRng } from '../../rng';
import type { RawBatch } from '../raw-batch';
import { applyDrift, getDriftModel } from './drift';
import { mixSeed } from './seed';
import { createRowScratch, drawFeatures, teacherLogit, type Teacher } from './teacher';

/**
 * Rows are generated in blocks of this many, each block from its own seeded stream, so any
 * row range (a resumed run's `startRow`) is reachable without generating what precedes it,
 * and the rows do not depend on the batch size.
 */
export const SYNTHETIC_BLOCK_ROWS = 2048;

const SPLIT_STREAM = { train: 1, test: 2 } as const;
const DRIFT_STREAM = 0xd41f7;

/** One block of rows: raw features and labels (as a file would hold them) plus true probabilities. */
export interface SyntheticBlock {
  readonly raw: RawBatch;
  /** The teacher's click probability of each row (the Bayes-optimal prediction). */
  readonly probs: Float32Array;
}

/** Generates block `index` of the configured split (the last block may be short). */
export function generateBlock(
  teacher: Teacher,
  cfg: SyntheticResolved,
  index: number,
): SyntheticBlock {
  const start = index * SYNTHETIC_BLOCK_ROWS;
  const size = Math.max(0, Math.min(SYNTHETIC_BLOCK_ROWS, cfg.rows - start));
  const rng = createRng(mixSeed(cfg.seed, SPLIT_STREAM[cfg.split], index));
  const s = createRowScratch(cfg);
  // Drift draws from its own stream, so the undrifted rows are those of a run without drift.
  const drift = cfg.drift === undefined ? undefined : getDriftModel(teacher, cfg);
  const driftRng = createRng(mixSeed(cfg.seed, SPLIT_STREAM[cfg.split], index, DRIFT_STREAM));
  const labels = new Float32Array(size);
  const probs = new Float32Array(size);
  const dense = Array.from({ length: cfg.numDense }, () => new Float64Array(size));
  const sparse = Array.from({ length: cfg.numSparse }, () => new Int32Array(size));
  for (let r = 0; r < size; r++) {
    drawFeatures(teacher, rng, s);
    let logit: number;
    if (drift !== undefined && start + r >= drift.drift.startRow) {
      const shift = applyDrift(drift, start + r, driftRng, s);
      logit = teacherLogit(teacher, s, drift.effects) + shift;
    } else {
      logit = teacherLogit(teacher, s);
    }
    const p = 1 / (1 + Math.exp(-logit));
    probs[r] = p;
    labels[r] = rng.next() < p ? 1 : 0;
    for (let f = 0; f < cfg.numDense; f++) (dense[f] as Float64Array)[r] = s.raw[f] as number;
    for (let j = 0; j < cfg.numSparse; j++) (sparse[j] as Int32Array)[r] = s.cats[j] as number;
  }
  return { raw: { size, labels, dense, sparse }, probs };
}
