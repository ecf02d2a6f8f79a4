import type { ClickEvent } from '../../../schemas/click-event';
import { FeatureSpec } from '../../../schemas/feature-spec';
import type { DeadLetter, DeadLetterSink } from '../../../src/stream/dead-letter';

/** A small spec: two dense features (one log1p, one clipped), two tables. */
export const spec = FeatureSpec.parse({
  dense: [
    { name: 'd1', transform: 'log1p' },
    { name: 'd2', transform: 'none', clip: [-1, 1] },
  ],
  sparse: [
    { name: 'c1', buckets: 100 },
    { name: 'c2', buckets: 10 },
  ],
});

/** A valid event; `i` varies every field. */
export function event(i: number, overrides: Partial<ClickEvent> = {}): ClickEvent {
  return {
    v: 1,
    eventId: `e${i}`,
    eventTime: 1_700_000_000_000 + i * 10,
    label: i % 3 === 0 ? 1 : 0,
    dense: { d1: i, d2: i % 2 === 0 ? null : -0.5 * i },
    sparse: { c1: `user-${i % 7}`, c2: i % 5 },
    ...overrides,
  };
}

/**
 * A dead-letter sink that buffers like the real one (src/stream/dead-letter.ts): `letters` holds
 * what was flushed, so a test sees exactly what reached the DLQ at each publish.
 */
export function recordingDeadLetters(): { sink: DeadLetterSink; letters: DeadLetter[] } {
  const letters: DeadLetter[] = [];
  let buffered: DeadLetter[] = [];
  const sink: DeadLetterSink = {
    add: (l) => buffered.push(l),
    flush: async () => {
      letters.push(...buffered);
      buffered = [];
    },
    get count() {
      return letters.length;
    },
    byReason: {},
  };
  return { sink, letters };
}
