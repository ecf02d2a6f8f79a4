import type { DenseRanges } from '../data/dense-ranges';
import { DataError } from '../errors';

/*
 * Stops an offline run whose training loss explodes, instead of letting it finish with a
 * meaningless model and exit 0. The usual cause on a user's log is a dense input with a huge
 * raw range (a row id of ~1e18 read as a number, an integer-coded id without `log1p`): its
 * logits, and so its loss, grow with it. The error names the dense features with the widest
 * ranges the model saw, which is where to look.
 */

/** Steps whose mean loss is the run's early value. */
const EARLY_STEPS = 10;
/** A running loss this many times the early value is an explosion. */
const GROWTH_FACTOR = 100;
/**
 * The growth rule only fires above this running loss (nats): a run whose early loss was tiny
 * (an easy synthetic log) may rise 100× and still score better than a coin flip (0.69).
 */
const FLOOR = 2;
/**
 * A running mean binary cross-entropy above this (nats) is an explosion whatever the early
 * value: predicting 0.5 costs 0.69, and a confident mistake at probability 1e-7 costs 16.
 */
const ABSOLUTE_LIMIT = 50;

/** Watches the losses of one run; `check` throws a DataError when the loss explodes. */
export interface LossGuard {
  /** Call after every step with its batch loss and the running (smoothed) loss. */
  check(step: number, loss: number, runningLoss: number): void;
}

/** Names of the dense features and where their ranges come from, for the error message. */
export interface LossGuardContext {
  denseNames: readonly string[];
  ranges: () => DenseRanges;
}

/** The dense features with the widest ranges, widest first, as `name [min, max]`. */
export function widestDenseInputs(
  names: readonly string[],
  ranges: DenseRanges,
  count = 3,
): string[] {
  return names
    .map((name, i) => ({
      name,
      min: ranges.min[i] ?? 0,
      max: ranges.max[i] ?? 0,
    }))
    .sort((a, b) => b.max - b.min - (a.max - a.min))
    .slice(0, count)
    .map((f) => `'${f.name}' [${f.min.toPrecision(3)}, ${f.max.toPrecision(3)}]`);
}

/** A guard for one run. */
export function createLossGuard(ctx: LossGuardContext): LossGuard {
  let earlySum = 0;
  let earlyCount = 0;
  const fail = (step: number, what: string): never => {
    const widest = widestDenseInputs(ctx.denseNames, ctx.ranges());
    const cause =
      widest.length === 0
        ? 'the model has no dense inputs: try a lower learning rate'
        : `likely cause: the dense inputs with the widest ranges the model saw (after their transform): ${widest.join(', ')}; ` +
          "an id or code read as a number belongs among the categoricals (see 'agp inspect'), a heavy-tailed count wants transform 'log1p'";
    throw new DataError(`training loss exploded at step ${step}: ${what}; ${cause}`);
  };
  return {
    check(step, loss, runningLoss) {
      if (!Number.isFinite(loss)) fail(step, `the batch loss is ${loss}`);
      if (earlyCount < EARLY_STEPS) {
        earlySum += loss;
        earlyCount++;
        return;
      }
      const early = earlySum / earlyCount;
      if (runningLoss > ABSOLUTE_LIMIT) {
        fail(
          step,
          `the running loss is ${runningLoss.toPrecision(3)} nats per row (early ${early.toPrecision(3)})`,
        );
      }
      if (runningLoss > GROWTH_FACTOR * early && runningLoss > FLOOR) {
        fail(
          step,
          `the running loss ${runningLoss.toPrecision(3)} is over ${GROWTH_FACTOR}× its early value ${early.toPrecision(3)}`,
        );
      }
    },
  };
}
