import { z } from 'zod';
import { DenseRanges } from '../data/dense-ranges';
import { AgpDriverState } from './agp-driver';

/**
 * What an offline checkpoint stores beside the trainer (src/model/checkpoint.ts `extra`): the
 * AGP controller and driver, the data position, the RNG, and the accounting so far, so a resumed
 * run continues exactly where the checkpoint was taken.
 */
export const OfflineCheckpointState = z.object({
  v: z.literal(1),
  kind: z.literal('offline'),
  /** Steps completed; the next step to run. */
  step: z.number().int().nonnegative(),
  /** Rows of the training source consumed in the current epoch. */
  rowInEpoch: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  controller: z.unknown(),
  driver: AgpDriverState,
  rng: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  flops: z.unknown(),
  runningLoss: z.number(),
  elapsedSeconds: z.number(),
  curves: z.unknown(),
  startedAt: z.string(),
  /** Ranges of the dense inputs trained so far (absent in checkpoints of older runs). */
  denseRanges: DenseRanges.optional(),
});
export type OfflineCheckpointState = z.infer<typeof OfflineCheckpointState>;
