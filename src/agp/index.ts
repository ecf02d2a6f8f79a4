/**
 * Alternate model Growth and Pruning (AGP), for newcomers.
 *
 * A run trains the full DLRM for a `warmup`, then alternates: a *prune* event removes the least
 * important hidden neurons of the bottom and top MLPs (the matrices really get smaller, so each
 * step of the *pruned* phase costs fewer multiply-adds), and a *grow* event rebuilds the layers at
 * full width — kept neurons back at their original positions, the removed ones re-initialised by
 * the growth policy (`split` copies important neurons, Net2Net-style, without changing the
 * function). The run always ends with a full-width phase, so the model it hands over is the
 * full-size dense model.
 *
 * The pieces:
 * - `createAgpController` (pure): which phase and widths each step has, and when an event is due;
 *   also the `dense`, `prune-only` and `small-dense` baselines.
 * - `reshapeTo`: does an event on the towers and optimizer slots (importance → plan → prune, or
 *   grow); `prune`/`grow`/`computeImportance`/`planPrune` are its parts.
 * - `createFlopAccumulator`: counts the multiply-adds of every step against the dense equivalent.
 *
 * A trainer's loop: `plan = controller.at(step)`; if `plan.event`, `reshapeTo({ target:
 * plan.widths, … })`; train the step; `flops.add({ phase: plan.phase, widths: plan.widths, … })`.
 * With `taylor` importance, reset the accumulator after every event (the neurons' indices change).
 * Checkpoints store `controller.toJSON()`, the surgery state's `record` (JSON) and snapshot
 * tensors (`snapshotEntries`), and `flops.toJSON()`.
 */
export type {
  AgpStepPlan,
  AgpController,
  AgpControllerOptions,
  SmallDenseSizing,
} from './controller';
export {
  AgpControllerState,
  agpControllerFromJSON,
  createAgpController,
  solveSmallDense,
} from './controller';
export type { AgpEvent, AgpPhase, PhaseSpan, Widths } from './schedule';
export { buildTimeline, keptWidth, prunedWidths, resolveLength, resolveRatios } from './schedule';
export type {
  FlopAccumulator,
  FlopArch,
  FlopTotals,
  LayerFlops,
  PhaseTotals,
  StepFlops,
} from './flops';
export {
  createFlopAccumulator,
  denseStepFlops,
  flopArchOf,
  hiddenWidthsOf,
  stepFlops,
  timelineFlops,
} from './flops';
export { computeImportance, hiddenLayers } from './importance';
export type { TaylorAccumulator, TaylorAccumulatorState } from './taylor';
export { createTaylorAccumulator } from './taylor';
export { planPrune } from './plan';
export type { PrunedLayer, PruneSnapshot } from './prune-record';
export {
  PruneRecord,
  disposeSnapshot,
  parsePruneRecord,
  snapshotEntries,
  snapshotFromEntries,
} from './prune-record';
export type { PruneOptions, PruneResult, SurgeryResult } from './surgery';
export { prune, widthsOf } from './surgery';
export type { GrowOptions } from './grow';
export { grow } from './grow';
export type { AgpSurgeryState, ReshapeArgs, ReshapeResult } from './reshape';
export { reshapeTo } from './reshape';
