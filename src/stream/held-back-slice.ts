import type { ClickEvent } from '../../schemas/click-event';

/** How the recurring trainer sets events aside for the publish gate. */
export interface HeldBackConfig {
  /** Fraction of valid events held back (scored at publish time, never trained). */
  fraction: number;
  /** The slice keeps the most recent this many held-back events. */
  capacity: number;
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

/**
 * The most recent held-back events, oldest first. Neither the candidate nor any parent trained
 * on them, so the gate can score both on the same events (a paired comparison).
 */
export class HeldBackSlice {
  private readonly ring: ClickEvent[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`held-back capacity must be a positive integer, got ${capacity}`);
    }
  }

  push(event: ClickEvent): void {
    if (this.ring.length < this.capacity) this.ring.push(event);
    else this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.ring.length;
  }

  /** A copy of the slice, oldest first. */
  events(): ClickEvent[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
