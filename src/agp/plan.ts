import { AgpError } from '../errors';
import type { Widths } from './schedule';

/**
 * Which neurons a prune keeps: for every layer whose target width is below its current width,
 * the `target` most important neurons, as sorted current indices (ties go to the lower index,
 * so equal scores give the same plan on every backend). Pure.
 */
export function planPrune(
  importance: Readonly<Record<string, Float32Array>>,
  targetWidths: Widths,
): Record<string, Int32Array> {
  const plan: Record<string, Int32Array> = {};
  for (const [name, target] of Object.entries(targetWidths)) {
    const scores = importance[name];
    if (scores === undefined)
      throw new AgpError('MissingImportance', `no importance scores for ${name}`);
    if (target > scores.length) {
      throw new AgpError(
        'NotAPrune',
        `${name} has ${scores.length} neurons; a prune cannot widen it to ${target}`,
      );
    }
    if (target === scores.length) continue;
    // A NaN score (a diverged neuron) ranks last.
    const score = (j: number): number => {
      const v = scores[j] ?? Number.NaN;
      return Number.isNaN(v) ? -Infinity : v;
    };
    const order = Array.from(scores.keys()).sort((a, b) => score(b) - score(a) || a - b);
    plan[name] = Int32Array.from(order.slice(0, target)).sort();
  }
  return plan;
}
