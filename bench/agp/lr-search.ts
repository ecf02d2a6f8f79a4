import { STANDARD_NE } from '../ne-definition';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { lrJob, type BenchScale } from './plan';
import type { BenchJob, BenchRun, Dataset, Method } from './types';

/** One method's search: every lr tried with its mean validation NE, and the chosen one. */
export interface LrChoice {
  lr: number;
  grid: Array<{ lr: number; validationNe: number }>;
  /** What the search depends on (the job's config without lr/name/dir): a change invalidates it. */
  fingerprint: string;
  /**
   * Which NE the grid holds (bench/ne-definition.ts); absent in searches from before issue 24
   * (test-rate NE). The choice is the same under either: every lr trains on the same rows, so
   * the training base rate, the standard NE's only difference, is common to the whole grid.
   */
  neDefinition?: string;
}

/** `bench/results/agp-lr.json`: the cached search, per dataset and method. */
export type LrCache = Partial<Record<Dataset, Partial<Record<Method, LrChoice>>>>;

/** At most this many ×2 steps beyond the first grid's edges. */
const MAX_WIDENINGS = 3;

function fingerprint(job: BenchJob): string {
  const { name: _n, outDir: _o, model: _m, ...rest } = job.config;
  return JSON.stringify(rest);
}

export async function readLrCache(path: string): Promise<LrCache> {
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as LrCache) : {};
}

export async function writeLrCache(path: string, cache: LrCache): Promise<void> {
  await writeFile(path, JSON.stringify(cache, null, 2) + '\n');
}

/** Whether the cache holds a search of this method made with the same data, seeds and config. */
export function cachedChoice(
  cache: LrCache,
  s: BenchScale,
  dataset: Dataset,
  method: Method,
): LrChoice | undefined {
  const c = cache[dataset]?.[method];
  const probe = fingerprint(lrJob(s, dataset, method, 1, 0.1)) + `|seeds ${s.lrSeeds}`;
  return c !== undefined && c.fingerprint === probe ? c : undefined;
}

/**
 * Chooses a method's lr by mean validation NE over seeds 1..lrSeeds: the grid first, then ×2
 * steps past whichever edge is best, until the best is inside or MAX_WIDENINGS steps were taken.
 */
export async function searchLr(
  s: BenchScale,
  dataset: Dataset,
  method: Method,
  run: (job: BenchJob) => Promise<BenchRun>,
): Promise<LrChoice> {
  const scores = new Map<number, number>();
  const score = async (lr: number): Promise<void> => {
    if (scores.has(lr)) return;
    let sum = 0;
    for (let seed = 1; seed <= s.lrSeeds; seed++)
      sum += (await run(lrJob(s, dataset, method, seed, lr))).test.ne;
    scores.set(lr, sum / s.lrSeeds);
  };
  for (const lr of s.lrGrid) await score(lr);
  for (let k = 0; k < MAX_WIDENINGS; k++) {
    const sorted = [...scores.keys()].sort((a, b) => a - b);
    const best = bestOf(scores);
    const lo = sorted[0] as number;
    const hi = sorted[sorted.length - 1] as number;
    if (best === hi) await score(round(hi * 2));
    else if (best === lo) await score(round(lo / 2));
    else break;
  }
  return {
    lr: bestOf(scores),
    grid: [...scores]
      .sort((a, b) => a[0] - b[0])
      .map(([lr, validationNe]) => ({ lr, validationNe })),
    fingerprint: fingerprint(lrJob(s, dataset, method, 1, 0.1)) + `|seeds ${s.lrSeeds}`,
    neDefinition: STANDARD_NE,
  };
}

function round(x: number): number {
  return Number(x.toPrecision(6));
}

/** The lr of the lowest NE (the smaller lr on a tie, as the safer choice). */
function bestOf(scores: ReadonlyMap<number, number>): number {
  let best: [number, number] | undefined;
  for (const [lr, ne] of [...scores].sort((a, b) => a[0] - b[0])) {
    if (best === undefined || ne < best[1]) best = [lr, ne];
  }
  if (best === undefined) throw new Error('no lr was scored');
  return best[0];
}
