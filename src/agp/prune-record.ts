import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { parseOrThrow } from '../../schemas/zod-errors';
import { AgpError } from '../errors';

/**
 * What a grow needs to know about the prunes since the last full-width state, as plain JSON so
 * a checkpoint taken mid-prune can grow correctly after resume. For each pruned hidden layer:
 * its full width, the ORIGINAL indices of the neurons still present (sorted, in the order of
 * the current columns) and their importance when last pruned (for `split`).
 */
export const PruneRecord = z.object({
  v: z.literal(1),
  layers: z.record(
    z.string(),
    z.object({
      fullWidth: z.number().int().positive(),
      kept: z.array(z.number().int().nonnegative()),
      importance: z.array(z.number()),
    }),
  ),
});
export type PruneRecord = z.infer<typeof PruneRecord>;
export type PrunedLayer = PruneRecord['layers'][string];

/** Parses a record read back from a checkpoint. */
export function parsePruneRecord(json: unknown): PruneRecord {
  const record = parseOrThrow(PruneRecord, json, 'agp prune record');
  for (const [name, l] of Object.entries(record.layers)) {
    const sorted = l.kept.every(
      (k, i) => k < l.fullWidth && (i === 0 || k > (l.kept[i - 1] ?? -1)),
    );
    if (!sorted || l.kept.length === 0 || l.importance.length !== l.kept.length) {
      throw new AgpError('InvalidPruneRecord', `agp prune record: layer ${name} is inconsistent`);
    }
  }
  return record;
}

/**
 * The full-size weights of every layer a prune changed, taken before the first prune of a
 * cycle, for `restore` growth. Keyed by layer (`bottom.1`, including a tower's last layer,
 * whose input rows a prune removes). The caller owns it until it hands it to `grow`.
 */
export type PruneSnapshot = Record<string, SnapshotLayer>;

/**
 * One layer's pre-prune tensors: weights, bias and (when taken by a prune since 2026-12-01) the
 * optimizer slots of both, so `restore` growth brings a neuron back exactly as it left.
 */
export interface SnapshotLayer {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
  slotW?: tf.Tensor2D[];
  slotB?: tf.Tensor1D[];
}

/** The snapshot's tensors under stable names (`bottom.1.w`, `bottom.1.b`), for checkpoints. */
export function snapshotEntries(
  snapshot: PruneSnapshot,
): Array<{ name: string; tensor: tf.Tensor }> {
  return Object.entries(snapshot).flatMap(([layer, { w, b, slotW, slotB }]) => [
    { name: `${layer}.w`, tensor: w },
    { name: `${layer}.b`, tensor: b },
    ...(slotW ?? []).map((t, k) => ({ name: `${layer}.sw${k}`, tensor: t })),
    ...(slotB ?? []).map((t, k) => ({ name: `${layer}.sb${k}`, tensor: t })),
  ]);
}

/** Rebuilds a snapshot from `snapshotEntries` output (the tensors are taken over, not copied). */
export function snapshotFromEntries(
  entries: ReadonlyArray<{ name: string; tensor: tf.Tensor }>,
): PruneSnapshot {
  const parts: Record<
    string,
    { w?: tf.Tensor2D; b?: tf.Tensor1D; sw: tf.Tensor2D[]; sb: tf.Tensor1D[] }
  > = {};
  for (const { name, tensor } of entries) {
    const m = /^((?:bottom|top)\.\d+)\.(w|b|sw|sb)(\d*)$/.exec(name);
    if (m === null || m[1] === undefined || (m[3] === '') !== (m[2] === 'w' || m[2] === 'b')) {
      throw new AgpError('InvalidSnapshot', `agp snapshot: unexpected tensor name '${name}'`);
    }
    const part = (parts[m[1]] ??= { sw: [], sb: [] });
    const rank = m[2] === 'w' || m[2] === 'sw' ? 2 : 1;
    if (tensor.rank !== rank) {
      throw new AgpError('InvalidSnapshot', `agp snapshot: ${name} has rank ${tensor.rank}`);
    }
    if (m[2] === 'w') part.w = tensor as tf.Tensor2D;
    else if (m[2] === 'b') part.b = tensor as tf.Tensor1D;
    else if (m[2] === 'sw') part.sw[Number(m[3])] = tensor as tf.Tensor2D;
    else part.sb[Number(m[3])] = tensor as tf.Tensor1D;
  }
  const snapshot: PruneSnapshot = {};
  for (const [layer, { w, b, sw, sb }] of Object.entries(parts)) {
    if (w === undefined || b === undefined) {
      throw new AgpError('InvalidSnapshot', `agp snapshot: layer ${layer} needs both .w and .b`);
    }
    snapshot[layer] = sw.length > 0 ? { w, b, slotW: sw, slotB: sb } : { w, b };
  }
  return snapshot;
}

/** Disposes every tensor of a snapshot. */
export function disposeSnapshot(snapshot: PruneSnapshot): void {
  for (const { w, b, slotW, slotB } of Object.values(snapshot)) {
    w.dispose();
    b.dispose();
    slotW?.forEach((t) => t.dispose());
    slotB?.forEach((t) => t.dispose());
  }
}
