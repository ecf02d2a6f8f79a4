import { AgpError } from '../errors';

/**
 * First-order Taylor importance (|activation × gradient| per neuron) averaged over the last K
 * batches. The trainer computes the per-batch scores (it has the activations and gradients)
 * and adds them here; pure, no tensors.
 */
export interface TaylorAccumulator {
  /** Adds one batch's scores: one Float32Array per hidden layer, one value per current neuron. */
  add(scores: Readonly<Record<string, Float32Array>>): void;
  /** Mean over the batches in the window; throws when no batch was added since the last reset. */
  mean(): Record<string, Float32Array>;
  /** Batches currently in the window. */
  count(): number;
  /** Empties the window (after a prune or grow, the neurons' indices change). */
  reset(): void;
  /** The window as plain JSON, for checkpoints. */
  toJSON(): TaylorAccumulatorState;
}

/** Serialised window of a TaylorAccumulator. */
export interface TaylorAccumulatorState {
  window: number;
  batches: Array<Record<string, number[]>>;
}

/** Creates an accumulator averaging the last `window` batches (AgpConfig.taylorBatches, @default 8). */
export function createTaylorAccumulator(
  window = 8,
  from?: TaylorAccumulatorState,
): TaylorAccumulator {
  if (!Number.isInteger(window) || window < 1) {
    throw new AgpError('InvalidWindow', `taylor window must be a positive integer, got ${window}`);
  }
  let batches: Array<Record<string, Float32Array>> = (from?.batches ?? []).map((b) =>
    Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Float32Array.from(v)])),
  );
  return {
    add(scores) {
      const first = batches[0];
      if (first !== undefined) {
        for (const [name, v] of Object.entries(scores)) {
          const width = first[name]?.length;
          if (width !== v.length) {
            throw new AgpError(
              'TaylorShapeMismatch',
              `taylor scores of ${name} have ${v.length} values but the window holds ${width ?? 'no'} (reset after surgery)`,
            );
          }
        }
      }
      batches.push(
        Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, Float32Array.from(v)])),
      );
      if (batches.length > window) batches = batches.slice(batches.length - window);
    },
    mean() {
      const first = batches[0];
      if (first === undefined) throw new AgpError('NoTaylorScores', 'no taylor scores were added');
      const out: Record<string, Float32Array> = {};
      for (const name of Object.keys(first)) {
        const sum = new Float64Array(first[name]?.length ?? 0);
        for (const b of batches) b[name]?.forEach((v, j) => (sum[j] = (sum[j] ?? 0) + v));
        out[name] = Float32Array.from(sum, (v) => v / batches.length);
      }
      return out;
    },
    count: () => batches.length,
    reset() {
      batches = [];
    },
    toJSON: () => ({
      window,
      batches: batches.map((b) =>
        Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Array.from(v)])),
      ),
    }),
  };
}
