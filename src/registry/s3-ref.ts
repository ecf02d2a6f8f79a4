import { z } from 'zod';
import { ModelState, ModelVersion } from '../../schemas/manifest';

/** One committed version as the model's ref object lists it. */
export const RefEntry = z.object({
  version: ModelVersion,
  parent: ModelVersion.nullable(),
  held: z.boolean(),
  /** Where its files live: `<model>/uploads/<upload>/<path>`. */
  upload: z.string().min(1),
});
export type RefEntry = z.infer<typeof RefEntry>;

/**
 * The one mutable object of a model on S3 (`<model>/ref.json`), and the commit point of every
 * change: a version is visible once it is listed here (its manifest and files were written
 * before), `latest` and the promotion state move with it. Every change is a conditional write
 * on its ETag (`If-Match`, or `If-None-Match: *` for the first), so concurrent writers
 * serialise through the server, never read-then-write.
 */
export const ModelRef = z.object({
  v: z.literal(1),
  /** The next version number to try (numbers of abandoned claims are never reused). */
  next: z.number().int().min(1),
  latest: ModelVersion.nullable(),
  /** Committed versions, oldest first. */
  versions: z.array(RefEntry),
  state: ModelState,
});
export type ModelRef = z.infer<typeof ModelRef>;

export const EMPTY_REF: ModelRef = {
  v: 1,
  next: 1,
  latest: null,
  versions: [],
  state: { v: 1, promoted: [], discarded: [], labels: {}, history: [] },
};
