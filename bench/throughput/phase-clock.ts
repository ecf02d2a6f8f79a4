/**
 * Time accounting for bench/throughput/profile-step.ts: wraps the functions a training step
 * calls (the embedding store's methods, tfjs-node's native binding) so that every call adds its
 * wall time to a phase, and watches V8's garbage collections. Nothing in src/ knows about it:
 * the wrappers sit on the objects the trainer already calls through, so the product code runs
 * unchanged and the profile stays true after that code changes.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';

/** The phases of a step, in the order the table prints them. */
export const PHASES = [
  'gather',
  'feeds',
  'session',
  'eager',
  'fetch',
  'update',
  'dispose',
  'js-other',
] as const;
export type Phase = (typeof PHASES)[number];

/** What each phase covers, for the table's legend. */
export const PHASE_LEGEND: Record<Phase, string> = {
  gather: '(a) embeddings.gather(Into): JS row copy into the slab',
  feeds: '(b) binding.createTensor: JS typed arrays handed to TensorFlow (slab, dense, labels, lr)',
  session: '(c) binding.runSavedModel: the graph run (TF kernels, executor, output handles)',
  eager: "(c') binding.executeOp: eager TensorFlow ops (e.g. an eager dense optimizer)",
  fetch: '(d) binding.tensorDataSync: loss, slab gradient (and probes) copied into JS',
  update: '(e) embeddings.applyGradients: JS sparse SGD row update',
  dispose: '(f) binding.deleteTensor: replaced weights, fetched outputs, fed tensors freed',
  'js-other': 'the rest of trainer.step: tfjs bookkeeping, checks, object churn',
};

/** Milliseconds per phase, summed over the steps since the last reset. */
export type PhaseTotals = Record<Phase, number>;

function zeros(): PhaseTotals {
  return Object.fromEntries(PHASES.map((p) => [p, 0])) as PhaseTotals;
}

/** `f` with each call's wall time added to `phase`; `self` is its `this`. */
function timed(
  f: unknown,
  self: unknown,
  phase: Phase,
  totals: () => PhaseTotals,
): (...args: unknown[]) => unknown {
  if (typeof f !== 'function') throw new Error(`phase-clock: no function to time for ${phase}`);
  return (...args: unknown[]): unknown => {
    const t0 = performance.now();
    try {
      return (f as (...a: unknown[]) => unknown).apply(self, args);
    } finally {
      totals()[phase] += performance.now() - t0;
    }
  };
}

/** The accounting of the profiled steps (one process; any number of trainers). */
export interface PhaseClock {
  /** Also times this embedding store's gather and applyGradients (once per store). */
  watch(embeddings: object): void;
  /** Starts a timed window: totals, step count and GC time back to zero. */
  reset(): void;
  /** Times one call of `step` and books what the wrapped calls did not cover as `js-other`. */
  step(step: () => void): void;
  /** Totals and step wall times since reset; `gcMs` is V8's GC pause time inside the window. */
  read(): Promise<{ totals: PhaseTotals; stepMs: number[]; gcMs: number; gcCount: number }>;
  /** Stops watching GC (the wrappers stay: they cost ~0.1 µs per call). */
  close(): void;
}

/**
 * Instruments `backend` (tfjs-node's NodeJSKernelBackend, `tf.backend()`) by replacing its
 * `binding` with one that times the native calls (the binding's own properties are read-only).
 * Create one per process: a second would count the calls twice.
 */
export function createPhaseClock(backend: { binding: object }): PhaseClock {
  let totals = zeros();
  let stepMs: number[] = [];
  let windowStart = performance.now();
  let windowEnd = Infinity;
  const gcs: Array<{ start: number; ms: number }> = [];
  const current = (): PhaseTotals => totals;
  const native = backend.binding as Record<string, unknown>;
  const calls: Array<[string, Phase]> = [
    ['createTensor', 'feeds'],
    ['runSavedModel', 'session'],
    ['executeOp', 'eager'],
    ['tensorDataSync', 'fetch'],
    ['deleteTensor', 'dispose'],
  ];
  const wrapped: Record<string, unknown> = Object.create(native) as Record<string, unknown>;
  for (const [key, phase] of calls) {
    // defineProperty: plain assignment would hit the inherited read-only property.
    Object.defineProperty(wrapped, key, { value: timed(native[key], native, phase, current) });
  }
  backend.binding = wrapped;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    watch(embeddings) {
      const store = embeddings as Record<string, unknown>;
      // gatherInto where the store has it: the trainer gathers into its own buffer.
      for (const key of ['gather', 'gatherInto']) {
        if (typeof store[key] === 'function')
          store[key] = timed(store[key], store, 'gather', current);
      }
      store['applyGradients'] = timed(store['applyGradients'], store, 'update', current);
    },
    reset() {
      totals = zeros();
      stepMs = [];
      windowStart = performance.now();
      windowEnd = Infinity;
    },
    step(step) {
      const before = PHASES.reduce((s, p) => s + totals[p], 0);
      const t0 = performance.now();
      step();
      const ms = performance.now() - t0;
      stepMs.push(ms);
      const covered = PHASES.reduce((s, p) => s + totals[p], 0) - before;
      totals['js-other'] += ms - covered;
    },
    async read() {
      windowEnd = performance.now();
      // GC entries reach the observer asynchronously: let them arrive before reading.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const inWindow = gcs.filter((g) => g.start >= windowStart && g.start < windowEnd);
      return {
        totals: { ...totals },
        stepMs: [...stepMs],
        gcMs: inWindow.reduce((s, g) => s + g.ms, 0),
        gcCount: inWindow.length,
      };
    },
    close() {
      observer.disconnect();
    },
  };
}
