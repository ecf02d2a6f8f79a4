import { z } from 'zod';

/** How a raw dense value becomes a model input. Missing or non-finite values become 0 first. */
export const DenseTransform = z.enum(['none', 'log1p']);
export type DenseTransform = z.infer<typeof DenseTransform>;

/** One dense (numeric) feature. */
export const DenseFeature = z.object({
  name: z.string().min(1),
  /** @default 'log1p' — Criteo's counts are heavy-tailed; log1p(max(x, 0)) tames them. */
  transform: DenseTransform.default('log1p'),
  /**
   * Clip the transformed value to [min, max] when given. The offline phase sets it on the
   * published version's spec to the range its training data covered (src/data/dense-ranges.ts);
   * a spec without it (an older version) does not clip.
   */
  clip: z.tuple([z.number(), z.number()]).optional(),
});
export type DenseFeature = z.infer<typeof DenseFeature>;

/** One categorical feature: raw string or integer values hashed into `buckets` embedding rows. */
export const SparseFeature = z.object({
  name: z.string().min(1),
  buckets: z.number().int().positive(),
});
export type SparseFeature = z.infer<typeof SparseFeature>;

/** The feature spec: which columns exist and how they are encoded. Shared by readers and events. */
export const FeatureSpec = z
  .object({
    label: z.string().min(1).default('label'),
    dense: z.array(DenseFeature),
    sparse: z.array(SparseFeature),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    for (const name of [
      spec.label,
      ...spec.dense.map((f) => f.name),
      ...spec.sparse.map((f) => f.name),
    ]) {
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', message: `feature name '${name}' is used twice` });
      seen.add(name);
    }
  });
export type FeatureSpec = z.infer<typeof FeatureSpec>;

/** The Criteo Kaggle layout: I1..I13 dense, C1..C26 categorical, each hashed into `buckets` rows. */
export function criteoFeatureSpec(buckets = 100_000): FeatureSpec {
  return FeatureSpec.parse({
    label: 'label',
    dense: Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, transform: 'log1p' })),
    sparse: Array.from({ length: 26 }, (_, i) => ({ name: `C${i + 1}`, buckets })),
  });
}
