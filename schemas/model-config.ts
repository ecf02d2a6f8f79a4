import { z } from 'zod';
import type { FeatureSpec } from './feature-spec';
import { parseOrThrow } from './zod-errors';

/** Optimizer of the dense towers (bottom and top MLP). Its state lives in TowerSlots. */
export const DenseOptimizerConfig = z.object({
  /** @default 'sgd' — the DLRM reference trains with plain SGD. */
  kind: z.enum(['sgd', 'momentum', 'adam']).default('sgd'),
  /** @default 0.1 */
  lr: z.number().positive().default(0.1),
  /** Momentum coefficient (PyTorch form: v = μ·v + g, w -= lr·v). @default 0.9 */
  momentum: z.number().min(0).lt(1).default(0.9),
  /** Adam's β1, β2. @default [0.9, 0.999] */
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  /** Adam's ε. @default 1e-8 */
  eps: z.number().positive().default(1e-8),
});
export type DenseOptimizerConfig = z.infer<typeof DenseOptimizerConfig>;

/** Optimizer of the embedding rows; only rows present in a batch are updated. */
export const EmbeddingOptimizerConfig = z.object({
  /** @default 'sgd' */
  kind: z.enum(['sgd', 'rowwise-adagrad']).default('sgd'),
  /** @default 0.1 */
  lr: z.number().positive().default(0.1),
  /** Row-wise Adagrad's ε. @default 1e-8 */
  eps: z.number().positive().default(1e-8),
});
export type EmbeddingOptimizerConfig = z.infer<typeof EmbeddingOptimizerConfig>;

const width = z.number().int().positive();

/**
 * The DLRM architecture and its optimizers. Defaults are the DLRM reference Criteo Kaggle
 * configuration: 13 dense features, 26 tables, dim 16, bottom 13-512-256-64-16, top 367-512-256-1,
 * SGD lr 0.1, batch 128. Widths here are the FULL widths; AGP may train with fewer neurons, and
 * the model always reads the current widths from its tensors.
 */
export const ModelConfig = z
  .object({
    /** Number of dense features (input width of the bottom MLP). @default 13 */
    numDense: width.default(13),
    /** Rows of each embedding table, one per categorical feature. @default 26 × 100000 */
    tableSizes: z
      .array(width)
      .min(1)
      .default(Array.from({ length: 26 }, () => 100_000)),
    /** Embedding dimension D. @default 16 */
    embeddingDim: width.default(16),
    /** Output widths of the bottom MLP's layers; the last must equal embeddingDim. @default [512, 256, 64, 16] */
    bottom: z.array(width).min(1).default([512, 256, 64, 16]),
    /** Output widths of the top MLP's layers; the last must be 1 (the logit). @default [512, 256, 1] */
    top: z.array(width).min(1).default([512, 256, 1]),
    denseOptimizer: DenseOptimizerConfig.default(DenseOptimizerConfig.parse({})),
    embeddingOptimizer: EmbeddingOptimizerConfig.default(EmbeddingOptimizerConfig.parse({})),
    /** @default 128 */
    batchSize: width.default(128),
    /** Seed of the weight initialisation. @default 1 */
    seed: z.number().int().default(1),
  })
  .superRefine((cfg, ctx) => {
    const lastBottom = cfg.bottom[cfg.bottom.length - 1];
    if (lastBottom !== cfg.embeddingDim) {
      ctx.addIssue({
        code: 'custom',
        path: ['bottom'],
        message: `the bottom MLP's last width (${String(lastBottom)}) must equal embeddingDim (${cfg.embeddingDim}): the interaction takes dot products of the bottom output with the embeddings`,
      });
    }
    const lastTop = cfg.top[cfg.top.length - 1];
    if (lastTop !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['top'],
        message: `the top MLP's last width must be 1 (the logit), got ${String(lastTop)}`,
      });
    }
  });
export type ModelConfig = z.infer<typeof ModelConfig>;

/** Parses a model config (e.g. from a JSON file), throwing a ConfigError that names each bad field. */
export function parseModelConfig(input: unknown, where = 'model config'): ModelConfig {
  return parseOrThrow(ModelConfig, input, where);
}

/** A model config whose tables match a feature spec's dense count and bucket counts. */
export function modelConfigForFeatures(
  spec: FeatureSpec,
  overrides: Record<string, unknown> = {},
): ModelConfig {
  return parseModelConfig({
    ...overrides,
    numDense: spec.dense.length,
    tableSizes: spec.sparse.map((f) => f.buckets),
  });
}

/** Input width of the top MLP: D + (F+1)·F/2 (bottom output plus the strictly-lower dot products). */
export function topInputWidth(numTables: number, embeddingDim: number): number {
  return embeddingDim + ((numTables + 1) * numTables) / 2;
}
