import type { FeatureSpec } from '../../../schemas/feature-spec';
import {
  SyntheticResolved,
  type SyntheticOptions,
  type SyntheticOptionsInput,
} from '../../../schemas/synthetic';
import { ConfigError } from '../../errors';
import { evaluateBinary, type BinaryMetrics } from '../../metrics/evaluate';
import { rebatch, type BatchOptions, type BatchSource } from '../source';
import type { RawBatch } from '../raw-batch';
import { generateBlock, SYNTHETIC_BLOCK_ROWS, type SyntheticBlock } from './generator';

/** Splits of at most this many rows keep their generated rows in memory. */
export const CACHE_MAX_ROWS = 1_000_000;
import { resolveSyntheticConfig, syntheticFeatureSpec } from './presets';
import { getTeacher } from './teacher';

/** A synthetic split as a {@link BatchSource}, plus the truth the generator knows. */
export interface SyntheticSource extends BatchSource {
  /** Every knob, resolved from the preset and overrides. */
  readonly config: SyntheticResolved;
  /** The teacher's click probabilities of rows [startRow, startRow + rows) (default: the whole split). */
  trueProbabilities(range?: { startRow?: number; rows?: number }): Float32Array;
  /**
   * Bayes-optimal metrics of the split: log loss, NE, AUC and calibration of the true
   * probabilities on the drawn labels (what no model can beat on this set, up to noise).
   */
  bayes(): BinaryMetrics;
  /**
   * Bayes-optimal metrics of every `segmentRows`-row segment of rows [startRow, end of the
   * split): how much is learnable at each point of a drifting stream.
   */
  bayesBySegment(segmentRows: number, startRow?: number): SegmentBayes[];
}

/** Bayes-optimal metrics of one segment of a split. */
export interface SegmentBayes extends BinaryMetrics {
  startRow: number;
  rows: number;
}

/**
 * Creates a synthetic source. Equal configs give identical rows; `train` and `test` splits of
 * one seed share the teacher and draw different rows. Categorical values are emitted as raw
 * integer ids and hashed by the spec like real data. `spec` defaults to
 * {@link syntheticFeatureSpec}; another spec must have the same feature counts.
 */
export function createSyntheticSource(
  options: SyntheticOptionsInput | SyntheticOptions | SyntheticResolved,
  spec?: FeatureSpec,
): SyntheticSource {
  const cfg = isResolved(options) ? options : resolveSyntheticConfig(options);
  const teacher = getTeacher(cfg);
  const featureSpec = spec ?? syntheticFeatureSpec(cfg);
  if (featureSpec.dense.length !== cfg.numDense || featureSpec.sparse.length !== cfg.numSparse) {
    throw new ConfigError(
      `synthetic data has ${cfg.numDense} dense and ${cfg.numSparse} categorical features; the feature spec has ${featureSpec.dense.length} and ${featureSpec.sparse.length}`,
    );
  }
  const blocks = Math.ceil(cfg.rows / SYNTHETIC_BLOCK_ROWS);
  let bayesCache: BinaryMetrics | undefined;
  // Splits up to CACHE_MAX_ROWS keep their generated blocks, so evaluation passes, epochs and
  // bayes() do not pay for the teacher again (~90 MB per million rows of the default shape).
  const cached = cfg.rows <= CACHE_MAX_ROWS ? new Map<number, SyntheticBlock>() : null;
  const block = (b: number): SyntheticBlock => {
    let blk = cached?.get(b);
    if (blk === undefined) {
      blk = generateBlock(teacher, cfg, b);
      cached?.set(b, blk);
    }
    return blk;
  };

  function* pieces(startRow: number): Generator<RawBatch> {
    // Start at the block holding startRow; rebatch drops the rows before it in that block.
    for (let b = Math.floor(startRow / SYNTHETIC_BLOCK_ROWS); b < blocks; b++) {
      yield block(b).raw;
    }
  }

  return {
    spec: featureSpec,
    config: cfg,
    skipped: 0,
    describe: () =>
      `synthetic ${cfg.preset} seed ${cfg.seed} ${cfg.split} (${cfg.rows} rows, teacher ${cfg.teacherSeed})`,
    batches(opts: BatchOptions) {
      const startRow = opts.startRow ?? 0;
      const firstBlockRow = Math.floor(startRow / SYNTHETIC_BLOCK_ROWS) * SYNTHETIC_BLOCK_ROWS;
      return rebatch(pieces(startRow), featureSpec, {
        batchSize: opts.batchSize,
        startRow: startRow - firstBlockRow,
      });
    },
    trueProbabilities(range = {}) {
      const start = range.startRow ?? 0;
      const end = Math.min(cfg.rows, start + (range.rows ?? cfg.rows));
      const out = new Float32Array(Math.max(0, end - start));
      for (let b = Math.floor(start / SYNTHETIC_BLOCK_ROWS); b * SYNTHETIC_BLOCK_ROWS < end; b++) {
        const { probs } = block(b);
        const b0 = b * SYNTHETIC_BLOCK_ROWS;
        const from = Math.max(start, b0);
        const to = Math.min(end, b0 + probs.length);
        out.set(probs.subarray(from - b0, to - b0), from - start);
      }
      return out;
    },
    bayes() {
      if (bayesCache === undefined) {
        const probs = new Float32Array(cfg.rows);
        const labels = new Float32Array(cfg.rows);
        for (let b = 0; b < blocks; b++) {
          const { raw, probs: p } = block(b);
          probs.set(p, b * SYNTHETIC_BLOCK_ROWS);
          labels.set(raw.labels as Float32Array, b * SYNTHETIC_BLOCK_ROWS);
        }
        bayesCache = evaluateBinary(probs, labels);
      }
      return bayesCache;
    },
    bayesBySegment(segmentRows, startRow = 0) {
      if (!Number.isInteger(segmentRows) || segmentRows < 1) {
        throw new ConfigError(
          `bayesBySegment: segmentRows must be a positive integer, got ${segmentRows}`,
        );
      }
      const out: SegmentBayes[] = [];
      for (let from = startRow; from < cfg.rows; from += segmentRows) {
        const rows = Math.min(segmentRows, cfg.rows - from);
        const probs = new Float32Array(rows);
        const labels = new Float32Array(rows);
        for (
          let b = Math.floor(from / SYNTHETIC_BLOCK_ROWS);
          b * SYNTHETIC_BLOCK_ROWS < from + rows;
          b++
        ) {
          const { raw, probs: p } = block(b);
          const b0 = b * SYNTHETIC_BLOCK_ROWS;
          const lo = Math.max(from, b0);
          const hi = Math.min(from + rows, b0 + p.length);
          probs.set(p.subarray(lo - b0, hi - b0), lo - from);
          labels.set((raw.labels as Float32Array).subarray(lo - b0, hi - b0), lo - from);
        }
        out.push({ startRow: from, rows, ...evaluateBinary(probs, labels) });
      }
      return out;
    },
  };
}

function isResolved(o: object): o is SyntheticResolved {
  return SyntheticResolved.safeParse(o).success;
}
