import { z } from 'zod';

/** How a raw dense value becomes a model input. Missing or non-finite values become 0 first. */
export const DenseTransform = z.enum(['none', 'log1p']);
export type DenseTransform = z.infer<typeof DenseTransform>;

/** True when `tz` is an IANA time zone name this Node.js knows (e.g. 'Europe/Berlin', 'UTC'). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A timestamp column's unit when its values are numbers or bigints (epoch seconds, ms, µs or
 * ns). Strings (ISO 8601, e.g. '2024-03-31T01:30:00Z'; without an offset they are read as UTC)
 * and dates (Parquet/Arrow timestamps) carry their own unit and ignore it. There is no guessing:
 * a number whose date falls outside the years 1900..2999 in the declared unit is a bad value
 * whose message suggests the unit that fits.
 */
export const EpochUnit = z.enum(['s', 'ms', 'us', 'ns']);
export type EpochUnit = z.infer<typeof EpochUnit>;

const timeFields = {
  /** IANA time zone the hour or day is taken in. @default 'UTC' */
  timeZone: z
    .string()
    .default('UTC')
    .refine(isTimeZone, { message: 'unknown IANA time zone (e.g. UTC, Europe/Berlin)' }),
  /** Unit of numeric timestamps (see {@link EpochUnit}). @default 's' */
  unit: EpochUnit.default('s'),
};

/**
 * How a feature is computed from its source column (`from`):
 * - `hourOfDay`: a timestamp → its hour 0..23 in `timeZone`;
 * - `dayOfWeek`: a timestamp → its weekday in `timeZone`, 0 = Sunday … 6 = Saturday;
 * - `bucketize`: a number → the index of its bucket among ascending `boundaries` b0 < b1 < …:
 *   x < b0 → 0, b(i-1) <= x < b(i) → i, x >= the last → boundaries.length (so there are
 *   boundaries.length + 1 buckets).
 * A missing source value gives a missing feature value.
 */
export const Derive = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('hourOfDay'), ...timeFields }),
  z.strictObject({ kind: z.literal('dayOfWeek'), ...timeFields }),
  z.strictObject({
    kind: z.literal('bucketize'),
    boundaries: z
      .array(z.number().finite())
      .min(1)
      .refine((b) => b.every((x, i) => i === 0 || x > (b[i - 1] as number)), {
        message: 'boundaries must be strictly ascending',
      }),
  }),
]);
export type Derive = z.infer<typeof Derive>;

/** The file column a feature reads; defaults to the feature's own name. */
const From = z.string().min(1).optional();

/** One dense (numeric) feature. */
export const DenseFeature = z.strictObject({
  name: z.string().min(1),
  /** Source column in the file (or event). @default the feature's name */
  from: From,
  /** Computes the value from the source column instead of reading it as a number. */
  derive: Derive.optional(),
  /**
   * @default 'log1p' — Criteo's counts are heavy-tailed; log1p(max(x, 0)) tames them. Derived
   * values (an hour, a bucket index) usually want 'none'.
   */
  transform: DenseTransform.default('log1p'),
  /**
   * Clip the transformed value to [min, max] when given. The offline phase sets it on the
   * published version's spec to the range its training data covered (src/data/dense-ranges.ts);
   * a spec without it (an older version) does not clip.
   */
  clip: z.tuple([z.number(), z.number()]).optional(),
});
export type DenseFeature = z.infer<typeof DenseFeature>;

/**
 * One categorical feature: raw string or integer values hashed into `buckets` embedding rows.
 * It reads the column `from` (default: its name), optionally through `derive`; or it is the
 * cross `[a, b]` of two categoricals: each of `a`, `b` names a non-cross categorical feature of
 * the spec (its value after `derive`, e.g. an hour) or else a file column, and the crossed value
 * is the pair (missing when either is missing).
 */
export const SparseFeature = z.strictObject({
  name: z.string().min(1),
  buckets: z.number().int().positive(),
  /** Source column in the file (or event). @default the feature's name */
  from: From,
  derive: Derive.optional(),
  cross: z.tuple([z.string().min(1), z.string().min(1)]).optional(),
});
export type SparseFeature = z.infer<typeof SparseFeature>;

/**
 * The feature spec: which columns exist and how they are encoded. Shared by readers and events.
 * Either list may be empty (an all-categorical or all-dense model), not both.
 */
/**
 * A label that is not 0/1: the `column` and the values that mean a click (compared as text, so
 * `"yes"`, `1` and `true` match the cells `yes`, `1` and `true`); every other value is 0.
 */
export const LabelMapping = z.strictObject({
  column: z.string().min(1),
  positive: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
});
export type LabelMapping = z.infer<typeof LabelMapping>;

export const FeatureSpec = z
  .strictObject({
    /**
     * The label column, holding 0/1 (or true/false), or `{column, positive}` for any other
     * coding (yes/no, a status). @default 'label'
     */
    label: z.union([z.string().min(1), LabelMapping]).default('label'),
    /**
     * The values of the label column read as 1 (text), set by parsing a `label: {column,
     * positive}`; a spec without it reads the label as 0/1. Written back by the parser so a
     * parsed spec parses again (workflow inputs, manifests); configs use `label.positive`.
     */
    labelPositive: z.array(z.string()).min(1).optional(),
    dense: z.array(DenseFeature),
    sparse: z.array(SparseFeature),
  })
  // Checked before the label is normalised, so these issues come with the fields' own.
  .superRefine((input, ctx) => {
    const spec = {
      ...input,
      // Optional chaining: zod runs this check even when the label itself failed to parse.
      label:
        typeof input.label === 'string'
          ? input.label
          : ((input.label as Partial<LabelMapping> | null)?.column ?? ''),
    };
    if (spec.dense.length + spec.sparse.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['sparse'],
        message: 'the spec has no features: give at least one dense or sparse feature',
      });
    }
    const seen = new Set<string>([spec.label]);
    const groups = [
      ['dense', spec.dense],
      ['sparse', spec.sparse],
    ] as const;
    for (const [group, features] of groups) {
      features.forEach((f, i) => {
        if (seen.has(f.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [group, i, 'name'],
            message: `feature name '${f.name}' is used twice`,
          });
        }
        seen.add(f.name);
        if (f.from === spec.label || (f.from === undefined && f.name === spec.label)) {
          ctx.addIssue({
            code: 'custom',
            path: [group, i, 'from'],
            message: `reads the label column '${spec.label}'`,
          });
        }
      });
    }
    spec.sparse.forEach((f, i) => {
      if (f.cross === undefined) return;
      if (f.from !== undefined || f.derive !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sparse', i, 'cross'],
          message: 'a cross takes neither `from` nor `derive` (derive its parts instead)',
        });
      }
      f.cross.forEach((part, j) => {
        if (part === spec.label) {
          ctx.addIssue({
            code: 'custom',
            path: ['sparse', i, 'cross', j],
            message: 'is the label',
          });
        }
        if (spec.sparse.some((o) => o.name === part && o.cross !== undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sparse', i, 'cross', j],
            message: `'${part}' is itself a cross (cross its parts instead)`,
          });
        }
      });
    });
  })
  .transform(({ label, labelPositive, ...rest }) => {
    const positive = typeof label === 'string' ? labelPositive : label.positive.map(String);
    return {
      label: typeof label === 'string' ? label : label.column,
      ...(positive === undefined ? {} : { labelPositive: positive }),
      ...rest,
    };
  });
export type FeatureSpec = z.infer<typeof FeatureSpec>;
export type FeatureSpecInput = z.input<typeof FeatureSpec>;

/** The column a dense or non-cross categorical feature reads (`from`, default its name). */
export function sourceOf(f: DenseFeature | SparseFeature): string {
  return f.from ?? f.name;
}

/**
 * What one part of a cross refers to: a non-cross categorical feature of the spec (by index in
 * `spec.sparse`), else a column.
 */
export function crossPart(
  spec: FeatureSpec,
  part: string,
): { feature: number } | { column: string } {
  const i = spec.sparse.findIndex((f) => f.name === part && f.cross === undefined);
  return i >= 0 ? { feature: i } : { column: part };
}

/** The columns one feature reads (one, or a cross's two). */
export function featureColumns(spec: FeatureSpec, f: DenseFeature | SparseFeature): string[] {
  if (!('cross' in f) || f.cross === undefined) return [sourceOf(f)];
  return f.cross.map((part) => {
    const p = crossPart(spec, part);
    return 'column' in p ? p.column : sourceOf(spec.sparse[p.feature] as SparseFeature);
  });
}

/** True when some feature is computed (`derive` or `cross`) rather than read as is. */
export function hasComputedFeatures(spec: FeatureSpec): boolean {
  return [...spec.dense, ...spec.sparse].some(
    (f) => f.derive !== undefined || ('cross' in f && f.cross !== undefined),
  );
}

/**
 * The field names a click event carries for a spec: the columns it reads, like a file row.
 * `dense` holds the source columns of plain (not derived) dense features; `sparse` every other
 * column (categoricals, and the columns only derived features read, e.g. a timestamp, which may
 * be a number or ISO text). For a spec without `from`/`derive`/`cross` these are exactly the
 * feature names.
 */
export function eventFields(spec: FeatureSpec): { dense: string[]; sparse: string[] } {
  const dense = [
    ...new Set(spec.dense.filter((f) => f.derive === undefined).map((f) => sourceOf(f))),
  ];
  const taken = new Set([spec.label, ...dense]);
  const sparse = new Set<string>();
  for (const f of [...spec.dense, ...spec.sparse]) {
    for (const c of featureColumns(spec, f)) if (!taken.has(c)) sparse.add(c);
  }
  return { dense, sparse: [...sparse] };
}

/** The Criteo Kaggle layout: I1..I13 dense, C1..C26 categorical, each hashed into `buckets` rows. */
export function criteoFeatureSpec(buckets = 100_000): FeatureSpec {
  return FeatureSpec.parse({
    label: 'label',
    dense: Array.from({ length: 13 }, (_, i) => ({ name: `I${i + 1}`, transform: 'log1p' })),
    sparse: Array.from({ length: 26 }, (_, i) => ({ name: `C${i + 1}`, buckets })),
  });
}
