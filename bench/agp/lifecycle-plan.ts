import type { RecurringOptimizer } from '../../schemas/recurring-optimizer';

/** The lifecycle benchmark's methods and recurring-policy candidates (command-line choices). */

/** A candidate recurring policy of the validation stream. */
export interface PolicyCandidate {
  name: string;
  optimizer: RecurringOptimizer;
}

/** Methods of the lifecycle: the four of the headline plus AGP at a budget near 0.8× FLOPs. */
export const LIFECYCLE_METHODS = ['dense', 'agp', 'agp-0.8', 'prune-only', 'small-dense'] as const;
export type LifecycleMethod = (typeof LIFECYCLE_METHODS)[number];

/** Parses `--methods` (comma-separated), naming a method it does not know. */
export function lifecycleMethods(v: string | undefined): LifecycleMethod[] {
  if (v === undefined) return [...LIFECYCLE_METHODS];
  const out = v.split(',').map((m) => m.trim());
  for (const m of out) {
    if (!(LIFECYCLE_METHODS as readonly string[]).includes(m)) {
      throw new Error(`bench:agp --methods: '${m}' is not one of ${LIFECYCLE_METHODS.join(', ')}`);
    }
  }
  if (!out.includes('dense') || !out.includes('agp')) {
    throw new Error('bench:agp --methods: the lifecycle compares against dense and agp; list both');
  }
  return out as LifecycleMethod[];
}

/**
 * The recurring policies tried on the validation stream, all at the same `baseLr` for every
 * method. `final` is not among them: the offline schedule decays to 0 (`lrSchedule.decayTo`),
 * so it would freeze the model (recurringLrScale refuses it).
 */
export function lifecycleCandidates(
  baseLr: number,
  batchSize: number,
  names?: string,
): PolicyCandidate[] {
  const decaySteps = Math.round(100_000 / batchSize);
  const all: PolicyCandidate[] = [
    // The base rate itself (agp's and prune-only's offline peak, half dense's): the drifting
    // stream moves the teacher, so a rate the stationary check allows may track it better.
    { name: 'constant-1', optimizer: { schedule: 'constant', scale: 1, baseLr } },
    { name: 'constant-0.3', optimizer: { schedule: 'constant', scale: 0.3, baseLr } },
    { name: 'constant-0.1', optimizer: { schedule: 'constant', scale: 0.1, baseLr } },
    { name: 'constant-0.03', optimizer: { schedule: 'constant', scale: 0.03, baseLr } },
    {
      name: 'warm-restart-0.3-0.03',
      optimizer: { schedule: 'warm-restart', scale: 0.3, finalScale: 0.03, decaySteps, baseLr },
    },
  ];
  if (names === undefined) return all;
  return names.split(',').map((n) => {
    const c = all.find((x) => x.name === n.trim());
    if (c === undefined) {
      throw new Error(
        `bench:agp --candidates: '${n}' is not one of ${all.map((x) => x.name).join(', ')}`,
      );
    }
    return c;
  });
}
