import type { RawRow } from '../../src/stream/replay';
import { createRng } from '../../src/rng';

/** What a seeded stream of `bench:gate` carries besides clean events. */
export type ScenarioKind = 'clean' | 'burst' | 'extreme';

/** A stream with its planted faults, by position in the stream (event ids `<prefix>-<i>`). */
export interface Scenario {
  kind: ScenarioKind;
  seed: number;
  rows: RawRow[];
  /** Positions of the harmful events (flipped labels or the extreme event). */
  harmful: Set<number>;
  /** Burst size (0 for the others). */
  burst: number;
}

/** Smallest and largest mislabelled burst (the 50–500). */
export const BURST_RANGE = [50, 500] as const;

/**
 * Plants a scenario into clean rows: `burst` flips the labels of 50–500 consecutive events at a
 * seeded random position (so it falls across version boundaries as often as not); `extreme`
 * adds one schema-valid event with every dense feature at 1e308 and label 1 at a random
 * position; `clean` leaves the rows alone.
 */
export function plantScenario(
  kind: ScenarioKind,
  seed: number,
  clean: readonly RawRow[],
): Scenario {
  const rng = createRng(seed ^ 0x9a7e);
  const rows = clean.map((r) => ({ ...r }));
  const harmful = new Set<number>();
  let burst = 0;
  if (kind === 'burst') {
    burst = BURST_RANGE[0] + rng.int(BURST_RANGE[1] - BURST_RANGE[0] + 1);
    const start = rng.int(rows.length - burst);
    for (let i = start; i < start + burst; i++) {
      const row = rows[i] as RawRow;
      rows[i] = { ...row, label: row.label === 1 ? 0 : 1 };
      harmful.add(i);
    }
  } else if (kind === 'extreme') {
    const at = rng.int(rows.length);
    const row = rows[at] as RawRow;
    rows[at] = {
      ...row,
      label: 1,
      dense: Object.fromEntries(Object.keys(row.dense).map((k) => [k, 1e308])),
    };
    harmful.add(at);
  }
  return { kind, seed, rows, harmful, burst };
}

/**
 * Along the served chain (offline first, then each served version in publish order): the largest
 * relative amount by which a served version's clean held-out NE exceeded the best served before
 * it. The figure: "`latest` is ever more than 2% NE worse than the best earlier served".
 */
export function worstRegression(servedNe: readonly number[]): number {
  let best = Infinity;
  let worst = 0;
  for (const ne of servedNe) {
    if (Number.isFinite(best)) worst = Math.max(worst, (ne - best) / best);
    best = Math.min(best, ne);
  }
  return worst;
}
