import type { Message } from 'kafkajs';
import type { ClickEvent } from '../../schemas/click-event';
import { syntheticEventRows } from '../../src/pipeline/synthetic-events';

/**
 * A model's stream as Kafka messages: `count` valid click events from the teacher of the
 * offline data generated with `seed` (new rows, seed + 1), so the stream continues that data's
 * concept. Event ids are `<idPrefix>-<seed>-<i>`.
 */
export function clickMessages(seed: number, count: number, idPrefix: string): Message[] {
  const { rows } = syntheticEventRows({
    preset: 'capacity-bound',
    seed: seed + 1,
    teacherSeed: seed,
    split: 'train',
    rows: count,
  });
  const now = Date.now();
  return [...rows].slice(0, count).map((row, i) => {
    const event: ClickEvent = { v: 1, eventId: `${idPrefix}-${seed}-${i}`, eventTime: now, ...row };
    return { key: event.eventId, value: JSON.stringify(event) };
  });
}
