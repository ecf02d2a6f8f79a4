import type { TrainConfigInput } from '../../schemas/train-config';

/** The methods the benchmark compares; `agp` is the product's default schedule. */
export const METHODS = ['dense', 'agp', 'prune-only', 'small-dense'] as const;
export type Method = (typeof METHODS)[number];

export type Dataset = 'synthetic' | 'criteo';

/** Test metrics of a model (held-out rows it never trained on). */
export interface Quality {
  logloss: number;
  ne: number;
  auc: number;
  calibration: number;
}

/**
 * One training of the plan. `kind` says what it is for: `lr` runs choose learning rates (their
 * `test` is the validation split), `headline` runs are the 5-seed comparison (and continue on
 * fresh rows), `frontier` runs add points of the FLOPs/NE frontier.
 */
export interface BenchJob {
  kind: 'lr' | 'headline' | 'frontier';
  dataset: Dataset;
  schedule: Method;
  seed: number;
  lr: number;
  ratio?: number;
  widthMultiplier?: number;
  config: TrainConfigInput;
  /** Fresh rows of the same stream to continue on after the offline run (0 = none). */
  continueRows: number;
}

/** One finished training, in the issue's `runs[]` shape plus what the tables need. */
export interface BenchRun {
  kind: BenchJob['kind'];
  schedule: Method;
  dataset: Dataset;
  seed: number;
  headline: boolean;
  ratio?: number;
  widthMultiplier?: number;
  lr: number;
  trainFlops: number;
  denseEquivalentFlops: number;
  wallSeconds: number;
  test: Quality;
  continued?: { progressiveNe: number; testNe: number; rows: number };
  growth: string;
  backend: string;
  finalWidths: Record<string, number>;
  /** Seconds the child process took for everything (data, training, continuation), for the ETA. */
  processSeconds: number;
}
