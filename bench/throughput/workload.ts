/**
 * The throughput benchmark's workload, shared by the harness and the engine processes: the
 * reference Criteo Kaggle DLRM (26 tables, dim 16, bottom 13-512-256-64-16, top 367-512-256-1,
 * SGD lr 0.1) and how long each measurement runs.
 */
export interface Workload {
  /** Rows of each of the 26 tables. */
  tableRows: number;
  /** Batch sizes measured, in this order, on one model. */
  batches: number[];
  /** Untimed steps per batch size (first-call compilation, allocation, caches). */
  warmupSteps: number;
  /** Timed steps run at least this long … */
  minSeconds: number;
  /** … and at least this many. */
  minSteps: number;
  /** Intra-op threads of every engine. */
  threads: number;
  /** Distinct synthetic batches cycled through, so no engine trains on one batch only. */
  distinctBatches: number;
  seed: number;
}

/** One engine's figure for one batch size. */
export interface Measurement {
  batch: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  /** CPU seconds (all threads, user + system) the process used over the timed steps. */
  cpuSeconds: number;
  /** Milliseconds of each timed step, for the spread. */
  stepMs: number[];
}

export const NUM_DENSE = 13;
export const NUM_TABLES = 26;
export const EMBEDDING_DIM = 16;
export const BOTTOM = [512, 256, 64, 16];
export const TOP = [512, 256, 1];
export const LR = 0.1;

/** Marks the line of a child's stdout that carries its JSON result. */
export const RESULT_PREFIX = 'THROUGHPUT_RESULT ';
