import type { KafkaOffsets, Manifest, ModelVersion } from '../../schemas/manifest';
import type { PairedComparison } from '../metrics/paired-comparison';
import type { HeldBackEntry } from '../stream/held-back-slice';
import { MIN_HELD_BACK_EVENTS, pairedRegressionTest } from './publish-gate';

/**
 * The watch after serving. A served version passed the gate on the events held back before it
 * was published; the watch keeps scoring it, on held-back events consumed *after* its own data
 * (never used to judge it), against the version it replaced. A served version that falls
 * significantly behind there is reverted: `latest` moves back to the weights it replaced.
 *
 * The events accumulate while the version stays served, so the watch acts soonest on the
 * version whose successors the gate keeps holding — a `latest` stuck on a bad version.
 */
export interface WatchTarget {
  /** The served version under watch (the candidate's parent). */
  served: ModelVersion;
  /** The version it replaced, whose weights a revert restores. */
  replaced: ModelVersion;
  /** Held-back entries consumed after `served`'s data: the watch's events. */
  entries: HeldBackEntry[];
}

/**
 * What the watch compares for a candidate whose parent is `parent`: null when the parent is not
 * a trained recurring version with a predecessor (an offline version, a revert) or fewer than
 * {@link MIN_HELD_BACK_EVENTS} held-back events came after it.
 */
export function watchTarget(parent: Manifest, slice: readonly HeldBackEntry[]): WatchTarget | null {
  if (parent.phase !== 'recurring' || parent.revert !== undefined || parent.parent == null) {
    return null;
  }
  if (parent.dataRange.kind !== 'recurring') return null;
  const entries = entriesAfter(slice, parent.dataRange.toOffsets);
  if (entries.length < MIN_HELD_BACK_EVENTS) return null;
  return { served: parent.version, replaced: parent.parent, entries };
}

/** The entries at or past `end` on their partition (consumed after a version with that end). */
export function entriesAfter(
  entries: readonly HeldBackEntry[],
  end: KafkaOffsets,
): HeldBackEntry[] {
  return entries.filter((e) => {
    const at = end[e.topic]?.[String(e.partition)];
    return at === undefined || e.offset >= Number(at);
  });
}

/**
 * The watch's verdict: the served version (`comparison`'s candidate) against the one it
 * replaced (its baseline), by the gate's paired test at the same tolerance and false-alarm rate.
 * Null when it passes.
 */
export function watchVerdict(
  target: WatchTarget,
  comparison: PairedComparison,
  tolerance: number,
  alpha: number,
): string | null {
  const test = pairedRegressionTest(comparison, tolerance, alpha);
  if (!test.failed) return null;
  return (
    `served ${target.served} fell behind ${target.replaced}, the version it replaced: NE ` +
    `${comparison.candidateNe.toFixed(5)} vs ${comparison.baselineNe.toFixed(5)} on ` +
    `${comparison.count} held-back events consumed after it (z = ${test.z.toFixed(2)} > ` +
    `${test.critical.toFixed(2)}, tolerance ${(tolerance * 100).toFixed(2)}%)`
  );
}
