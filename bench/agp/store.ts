import { AGP_BENCH_NE } from '../ne-definition';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BenchJob, BenchRun } from './types';

/**
 * The benchmark's progress file: every finished run, keyed by what determines its result. An
 * interrupted benchmark started again with the same options finds its finished runs here and
 * trains only the rest; a run whose options changed has another key and trains again. Written
 * after every run (to a temporary file, then renamed, so a kill mid-write loses nothing).
 */
export interface RunStore {
  get(job: BenchJob): BenchRun | undefined;
  put(job: BenchJob, run: BenchRun): Promise<void>;
  readonly size: number;
}

/** What determines a job's result: its config without the names that only place its files. */
export function jobKey(job: BenchJob): string {
  const { name: _name, outDir: _outDir, ...config } = job.config;
  return JSON.stringify({
    kind: job.kind,
    continueRows: job.continueRows,
    config: unpinned(config),
  });
}

/**
 * The config without the optimizer kinds plan.ts pins to `sgd`: they were the defaults when the
 * committed runs were recorded, so leaving them out keeps those runs' keys (same training).
 */
function unpinned(config: Omit<BenchJob['config'], 'name' | 'outDir'>): unknown {
  const model = config.model;
  if (model?.denseOptimizer?.kind !== 'sgd' || model.embeddingOptimizer?.kind !== 'sgd') {
    return config;
  }
  const { kind: _d, ...denseOptimizer } = model.denseOptimizer;
  const { kind: _e, ...embeddingOptimizer } = model.embeddingOptimizer;
  return { ...config, model: { ...model, denseOptimizer, embeddingOptimizer } };
}

interface ProgressFile {
  v: 1;
  /** What the runs' NE figures are (bench/ne-definition.ts); absent before issue 24. */
  neDefinition: string;
  runs: Record<string, BenchRun>;
}

export async function openRunStore(path: string): Promise<RunStore> {
  let file: ProgressFile = { v: 1, neDefinition: AGP_BENCH_NE, runs: {} };
  if (existsSync(path)) {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ProgressFile>;
    if (parsed.v !== 1 || typeof parsed.runs !== 'object' || parsed.runs === null) {
      throw new Error(`${path} is not a bench:agp progress file (delete it to start over)`);
    }
    // Reusing its runs would mix two NE definitions in one results file.
    if (parsed.neDefinition !== AGP_BENCH_NE) {
      throw new Error(
        `${path} holds runs with ${parsed.neDefinition ?? 'no neDefinition'}; this bench now reports ${AGP_BENCH_NE}: move it away to start over`,
      );
    }
    file = { v: 1, neDefinition: AGP_BENCH_NE, runs: parsed.runs };
  }
  await mkdir(dirname(path), { recursive: true });
  return {
    get: (job) => file.runs[jobKey(job)],
    async put(job, run) {
      file.runs[jobKey(job)] = run;
      await writeFile(`${path}.tmp`, JSON.stringify(file) + '\n');
      await rename(`${path}.tmp`, path);
    },
    get size() {
      return Object.keys(file.runs).length;
    },
  };
}
