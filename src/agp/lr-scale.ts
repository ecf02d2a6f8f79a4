import type { AgpConfig } from '../../schemas/agp-config';
import type { AgpStepPlan } from './controller';
import type { Widths } from './schedule';

/**
 * The lr multiplier of one step under AGP's `widthScaledLr`: while pruned, the ratio of the full
 * hidden widths' sum to the current one (a narrower MLP moves its function less per step at the
 * same lr; this keeps the pruned model learning at the dense model's pace); 1 otherwise.
 */
export function widthLrScale(config: AgpConfig, plan: AgpStepPlan, fullWidths: Widths): number {
  if (!config.widthScaledLr || plan.phase !== 'pruned') return 1;
  let full = 0;
  let current = 0;
  for (const [name, width] of Object.entries(fullWidths)) {
    full += width;
    current += plan.widths[name] ?? width;
  }
  return current > 0 ? full / current : 1;
}
