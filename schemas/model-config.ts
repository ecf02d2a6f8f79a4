import { z } from 'zod';
import type { FeatureSpec } from './feature-spec';
import { parseOrThrow } from './zod-errors';

/** Learning rate of each dense optimizer when the config gives none. */
export const DENSE_DEFAULT_LR = { sgd: 0.1, momentum: 0.1, adam: 0.001 } as const;
/** Learning rate of each embedding optimizer when the config gives none. */
export const EMBEDDING_DEFAULT_LR = { sgd: 0.1, 'rowwise-adagrad': 0.05 } as const;

/**
 * The optimizers a model trains with when its config names none: Adam on the MLPs and row-wise
 * Adagrad on the embeddings. Chosen by `npm run bench:defaults` (bench/results/defaults.json):
 * the DLRM reference's plain SGD at lr 0.1 learned nothing (NE ≈ 1) on some real logs.
 */
export const DEFAULT_DENSE_OPTIMIZER = 'adam' as const;
export const DEFAULT_EMBEDDING_OPTIMIZER = 'rowwise-adagrad' as const;

/** Optimizer of the dense towers (bottom and top MLP). Its state lives in TowerSlots. */
export const DenseOptimizerConfig = z
  .strictObject({
    /** @default 'adam' (the DLRM reference trains with 'sgd') */
    kind: z.enum(['sgd', 'momentum', 'adam']).default(DEFAULT_DENSE_OPTIMIZER),
    /** @default 0.001 for adam, 0.1 for sgd and momentum (DENSE_DEFAULT_LR) */
    lr: z.number().positive().optional(),
    /** Momentum coefficient (PyTorch form: v = μ·v + g, w -= lr·v). @default 0.9 */
    momentum: z.number().min(0).lt(1).default(0.9),
    /** Adam's β1, β2. @default [0.9, 0.999] */
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    /** Adam's ε. @default 1e-8 */
    eps: z.number().positive().default(1e-8),
  })
  .transform((c) => ({ ...c, lr: c.lr ?? DENSE_DEFAULT_LR[c.kind] }));
export type DenseOptimizerConfig = z.infer<typeof DenseOptimizerConfig>;

/** Optimizer of the embedding rows; only rows present in a batch are updated. */
export const EmbeddingOptimizerConfig = z
  .strictObject({
    /** @default 'rowwise-adagrad' (the DLRM reference trains with 'sgd') */
    kind: z.enum(['sgd', 'rowwise-adagrad']).default(DEFAULT_EMBEDDING_OPTIMIZER),
    /** @default 0.05 for rowwise-adagrad, 0.1 for sgd (EMBEDDING_DEFAULT_LR) */
    lr: z.number().positive().optional(),
    /** Row-wise Adagrad's ε. @default 1e-8 */
    eps: z.number().positive().default(1e-8),
  })
  .transform((c) => ({ ...c, lr: c.lr ?? EMBEDDING_DEFAULT_LR[c.kind] }));
export type EmbeddingOptimizerConfig = z.infer<typeof EmbeddingOptimizerConfig>;

/**
 * The DLRM reference's optimizers (plain SGD, lr 0.1, on both), the defaults before issue 13;
 * a config gets them with `"model": {"denseOptimizer": {"kind": "sgd"}, "embeddingOptimizer":
 * {"kind": "sgd"}}`.
 */
export const REFERENCE_OPTIMIZERS = {
  denseOptimizer: { kind: 'sgd', lr: 0.1 },
  embeddingOptimizer: { kind: 'sgd', lr: 0.1 },
} as const;

const width = z.number().int().positive();
const DEFAULT_EMBEDDING_DIM = 16;

/**
 * The fields of a model a training config may set (`model` in schemas/train-config.ts); the
 * rest (numDense, tableSizes) follow from the feature spec and `seed` from the run's seed.
 * Strict, so a misspelt field stops the run before it trains.
 */
export const ModelOverrides = z.strictObject({
  /** @default 16 */
  embeddingDim: width.optional(),
  /** @default [512, 256, 64, 16]; [embeddingDim] without dense features */
  bottom: z.array(width).min(1).optional(),
  /** @default [512, 256, 1] */
  top: z.array(width).min(1).optional(),
  /** @default Adam, lr 0.001 */
  denseOptimizer: DenseOptimizerConfig.optional(),
  /** @default row-wise Adagrad, lr 0.05 */
  embeddingOptimizer: EmbeddingOptimizerConfig.optional(),
  /** @default 128 */
  batchSize: width.optional(),
});
export type ModelOverrides = z.infer<typeof ModelOverrides>;
export type ModelOverridesInput = z.input<typeof ModelOverrides>;

/**
 * The DLRM architecture and its optimizers. Defaults are the DLRM reference Criteo Kaggle
 * configuration: 13 dense features, 26 tables, dim 16, bottom 13-512-256-64-16, top 367-512-256-1,
 * batch 128, except the optimizers (see DEFAULT_DENSE_OPTIMIZER; REFERENCE_OPTIMIZERS are the
 * reference's). Widths here are the FULL widths; AGP may train with fewer neurons, and
 * the model always reads the current widths from its tensors.
 */
export const ModelConfig = z
  .object({
    /**
     * Number of dense features. 0 (an all-categorical spec): the bottom MLP reads one constant
     * input instead (see bottomInputWidth). @default 13
     */
    numDense: z.number().int().min(0).default(13),
    /**
     * Rows of each embedding table, one per categorical feature. Empty (an all-dense spec): no
     * embeddings, the bottom MLP's output alone feeds the top MLP. @default 26 × 100000
     */
    tableSizes: z.array(width).default(Array.from({ length: 26 }, () => 100_000)),
    /** Embedding dimension D. @default 16 */
    embeddingDim: width.default(DEFAULT_EMBEDDING_DIM),
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

/**
 * Input width of the bottom MLP. Without dense features it reads one constant input (1), so it
 * learns a vector c that the interaction dots with every embedding: ⟨c, e_f⟩ is a learned
 * first-order term per feature next to the pairwise ⟨e_f, e_g⟩. Why not drop the bottom MLP:
 * the arches, the TensorFlow step graph, checkpoints and AGP keep one layout, and TensorFlow's
 * oneDNN kernels abort on a matmul over an empty input.
 */
export function bottomInputWidth(numDense: number): number {
  return Math.max(1, numDense);
}

/** Parses a model config (e.g. from a JSON file), throwing a ConfigError that names each bad field. */
export function parseModelConfig(
  input: unknown,
  where = 'model config',
  pathPrefix: readonly string[] = [],
): ModelConfig {
  return parseOrThrow(ModelConfig, input, where, pathPrefix);
}

/**
 * A model config whose tables match a feature spec's dense count and bucket counts. Without
 * dense features the bottom MLP defaults to one layer (its input is a constant, so depth adds
 * nothing); an explicit `bottom` override is kept.
 */
export function modelConfigForFeatures(
  spec: FeatureSpec,
  overrides: ModelOverrides & { seed?: number } = {},
  where = 'model config',
  pathPrefix: readonly string[] = [],
): ModelConfig {
  const bottom =
    overrides.bottom ??
    (spec.dense.length === 0 ? [overrides.embeddingDim ?? DEFAULT_EMBEDDING_DIM] : undefined);
  return parseModelConfig(
    {
      ...overrides,
      ...(bottom === undefined ? {} : { bottom }),
      numDense: spec.dense.length,
      tableSizes: spec.sparse.map((f) => f.buckets),
    },
    where,
    pathPrefix,
  );
}

/** Input width of the top MLP: D + (F+1)·F/2 (bottom output plus the strictly-lower dot products). */
export function topInputWidth(numTables: number, embeddingDim: number): number {
  return embeddingDim + ((numTables + 1) * numTables) / 2;
}
