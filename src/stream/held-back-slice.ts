import { z } from 'zod';
import { ClickEvent } from '../../schemas/click-event';

/** How the recurring trainer sets events aside for the publish gate. */
export interface HeldBackConfig {
  /** Fraction of valid events held back (scored at publish time, never trained). */
  fraction: number;
  /** The slice keeps the most recent this many held-back events. */
  capacity: number;
  /**
   * Events the slice must hold before a version can be judged. While it holds fewer (after an
   * offline hand-over, whose version carries no slice) every valid event is held back, so the
   * first recurring version is judged on the first events of the stream, and no version is
   * published before it can be judged. @default 0 (no warm-up)
   */
  minEvents?: number | undefined;
}

/**
 * Whether the event at this position is held back. A hash of its position, not a random draw:
 * a retried window holds back exactly the events the failed attempt held back, so every offset
 * stays either trained once or held back once.
 */
export function isHeldBack(
  topic: string,
  partition: number,
  offset: number,
  fraction: number,
): boolean {
  if (fraction <= 0) return false;
  // FNV-1a, 32 bit, over "topic:partition:offset".
  let h = 0x811c9dc5;
  const key = `${topic}:${partition}:${offset}`;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Murmur3's finaliser: FNV alone leaves consecutive offsets' hashes correlated (a 0.2 fraction
  // held back 14% of 1,000 consecutive offsets).
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000 < fraction;
}

/** A held-back event with the position it was consumed at (the watch scores only newer ones). */
export const HeldBackEntry = z.object({
  topic: z.string(),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  event: ClickEvent,
});
export type HeldBackEntry = z.infer<typeof HeldBackEntry>;

/**
 * The file a recurring version carries with its slice, so the next window (on any worker, after
 * any restart) judges its first version on the same events instead of an empty slice.
 */
export const HELD_BACK_SLICE_FILE = 'held-back-slice.json';

const HeldBackFile = z.object({ v: z.literal(1), entries: z.array(HeldBackEntry) });

/** The slice as the version file stores it. */
export function serializeHeldBack(entries: readonly HeldBackEntry[]): string {
  return JSON.stringify({ v: 1, entries });
}

/** Parses a version's slice file; `where` names it in the error. */
export function parseHeldBack(text: string, where: string): HeldBackEntry[] {
  const parsed = HeldBackFile.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`${where}: not a held-back slice (${parsed.error.issues[0]?.message ?? ''})`);
  }
  return parsed.data.entries;
}

/**
 * The most recent held-back events, oldest first. Neither the candidate nor any parent trained
 * on them, so the gate can score both on the same events (a paired comparison).
 */
export class HeldBackSlice {
  private readonly ring: HeldBackEntry[] = [];
  private next = 0;

  constructor(
    readonly capacity: number,
    initial: readonly HeldBackEntry[] = [],
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`held-back capacity must be a positive integer, got ${capacity}`);
    }
    for (const entry of initial.slice(-capacity)) this.push(entry);
  }

  push(entry: HeldBackEntry): void {
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.ring.length;
  }

  /** A copy of the slice, oldest first. */
  entries(): HeldBackEntry[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
