import { z } from 'zod';
import { AgpConfig } from '../../schemas/agp-config';
import { parseOrThrow } from '../../schemas/zod-errors';
import { AgpError, ConfigError } from '../errors';
import type { FlopArch } from './flops';
import { stepFlops, timelineFlops } from './flops';
import type { AgpEvent, AgpPhase, PhaseSpan, Widths } from './schedule';
import { buildTimeline, resolveRatios } from './schedule';

/**
 * The AGP controller: a pure state machine over step numbers (no tensors). The trainer asks
 * `at(step)` before each step and, when it says `event: 'prune'` or `'grow'`, reshapes the model
 * to `widths` with the surgery before training that step.
 */

/** What the controller says about one step. */
export interface AgpStepPlan {
  phase: AgpPhase;
  cycle: number;
  /** Width of every hidden layer while this step trains. */
  widths: Widths;
  /** Surgery to do before this step. */
  event?: AgpEvent;
}

/** The `small-dense` baseline's constant widths and the multiplier they come from. */
export interface SmallDenseSizing {
  /** Width multiplier applied to every pruned layer, solved so FLOPs match agp's average. */
  multiplier: number;
  widths: Record<string, number>;
}

/** Serialised controller (checkpoints). */
export const AgpControllerState = z.object({
  v: z.literal(1),
  config: AgpConfig,
  totalSteps: z.number().int().positive(),
  fullWidths: z.record(z.string(), z.number().int().positive()),
  smallDense: z
    .object({ multiplier: z.number(), widths: z.record(z.string(), z.number().int().positive()) })
    .optional(),
});
export type AgpControllerState = z.infer<typeof AgpControllerState>;

/** The controller. */
export interface AgpController {
  readonly config: AgpConfig;
  readonly totalSteps: number;
  readonly fullWidths: Widths;
  /** Widths to build the model with (full, except for `small-dense`). */
  readonly initialWidths: Widths;
  /** Widths at the end of the run (full for `agp`, `dense`; reduced for the other baselines). */
  readonly finalWidths: Widths;
  /** The `small-dense` sizing, for that schedule only. */
  readonly smallDense: SmallDenseSizing | undefined;
  /** The plan of step `step` (0-based, < totalSteps). */
  at(step: number): AgpStepPlan;
  /** The timeline, for reports: constant-width spans with the event at their start. */
  phases(): PhaseSpan[];
  toJSON(): AgpControllerState;
}

/** Options of `createAgpController`. */
export interface AgpControllerOptions {
  /** Steps in the whole run. */
  totalSteps: number;
  /** Full width of every hidden layer, by name (`hiddenWidthsOf(arch)`). */
  fullWidths: Widths;
  /** The architecture; needed only by `small-dense`, to match FLOPs. */
  arch?: FlopArch;
}

/** Widths `full × m` (rounded, ≥ 1) on every layer the config's ratio prunes; full elsewhere. */
function multipliedWidths(cfg: AgpConfig, fullWidths: Widths, m: number): Record<string, number> {
  const ratios = resolveRatios(cfg.ratio, fullWidths);
  return Object.fromEntries(
    Object.entries(fullWidths).map(([n, w]) => [
      n,
      (ratios[n] ?? 0) > 0 ? Math.max(1, Math.min(w, Math.round(w * m))) : w,
    ]),
  );
}

/** Training FLOPs of a schedule as a fraction of the dense run's, at the real rounded widths. */
export function flopsFraction(
  cfg: AgpConfig,
  totalSteps: number,
  fullWidths: Widths,
  arch: FlopArch,
): number {
  const t = timelineFlops(arch, buildTimeline(cfg, totalSteps, fullWidths), 1);
  return t.totalFlops / t.denseEquivalentFlops;
}

/**
 * The uniform ratio whose schedule's FLOPs fraction is closest to `cfg.flopsBudget` (the
 * fraction falls as the ratio grows; widths are rounded, so it moves in small steps). Throws a
 * ConfigError when the closest is more than 0.02 away: the schedule's lengths cannot reach it.
 */
export function solveBudgetRatio(
  cfg: AgpConfig,
  totalSteps: number,
  fullWidths: Widths,
  arch: FlopArch,
): number {
  const budget = cfg.flopsBudget as number;
  const at = (ratio: number) => flopsFraction({ ...cfg, ratio }, totalSteps, fullWidths, arch);
  // A ratio that removes no neuron is not a schedule; start the search just above it.
  const maxWidth = Math.max(...Object.values(fullWidths));
  let lo = Math.min(0.5, 1 / maxWidth);
  let hi = 0.95;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (at(mid) > budget) lo = mid;
    else hi = mid;
  }
  const best = Math.abs(at(lo) - budget) <= Math.abs(at(hi) - budget) ? lo : hi;
  const got = at(best);
  if (Math.abs(got - budget) > 0.02) {
    throw new ConfigError(
      `invalid agp config:\nflopsBudget: ${budget} is out of reach of this schedule ` +
        `(closest: ${got.toFixed(3)} of dense FLOPs at ratio ${best.toFixed(3)}); ` +
        `change warmup, prune, cycles or finalDense`,
    );
  }
  return best;
}

/**
 * Solves the `small-dense` widths: one multiplier m on every layer the agp schedule prunes,
 * width = max(1, round(full × m)), chosen so the per-step multiply-adds are closest to the
 * average per-step multiply-adds of the `agp` schedule of the same config.
 */
export function solveSmallDense(
  cfg: AgpConfig,
  totalSteps: number,
  fullWidths: Widths,
  arch: FlopArch,
): SmallDenseSizing {
  const agpSpans = buildTimeline({ ...cfg, schedule: 'agp' }, totalSteps, fullWidths);
  const target = timelineFlops(arch, agpSpans, 1).totalFlops / totalSteps;
  const widthsAt = (m: number) => multipliedWidths(cfg, fullWidths, m);
  const cost = (m: number) => stepFlops(arch, widthsAt(m), 1).total;
  // Cost grows with m; bisect to the crossing, then take the closer of its two sides.
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (cost(mid) < target) lo = mid;
    else hi = mid;
  }
  const m = Math.abs(cost(lo) - target) <= Math.abs(cost(hi) - target) ? lo : hi;
  return { multiplier: m, widths: widthsAt(m) };
}

function build(state: AgpControllerState): AgpController {
  const { config, totalSteps, fullWidths, smallDense } = state;
  const spans = buildTimeline(config, totalSteps, fullWidths, smallDense?.widths);
  const first = spans[0];
  const last = spans[spans.length - 1];
  if (first === undefined || last === undefined) throw new AgpError('AgpBug', 'empty timeline');
  let cursor = 0;
  return {
    config,
    totalSteps,
    fullWidths,
    initialWidths: first.widths,
    finalWidths: last.widths,
    smallDense,
    at(step) {
      if (!Number.isInteger(step) || step < 0 || step >= totalSteps) {
        throw new AgpError(
          'StepOutOfRange',
          `step ${step} is outside the run's steps 0..${totalSteps - 1}`,
        );
      }
      // Steps are asked in order, so start the search where the last one ended.
      if ((spans[cursor]?.start ?? 0) > step) cursor = 0;
      while ((spans[cursor]?.end ?? Infinity) <= step) cursor++;
      const s = spans[cursor] as PhaseSpan;
      const plan: AgpStepPlan = { phase: s.phase, cycle: s.cycle, widths: s.widths };
      if (step === s.start && s.event !== undefined) plan.event = s.event;
      return plan;
    },
    phases: () => spans.map((s) => ({ ...s, widths: { ...s.widths } })),
    toJSON: () => structuredClone(state),
  };
}

/**
 * Creates the controller of a run. Throws a ConfigError naming the field when the schedule
 * does not fit the run or would not end full-width.
 */
export function createAgpController(cfg: AgpConfig, opts: AgpControllerOptions): AgpController {
  const fullWidths = { ...opts.fullWidths };
  const state: AgpControllerState = { v: 1, config: cfg, totalSteps: opts.totalSteps, fullWidths };
  if (cfg.flopsBudget !== undefined && (cfg.schedule === 'agp' || cfg.schedule === 'prune-only')) {
    if (opts.arch === undefined) {
      throw new ConfigError('agp.flopsBudget needs the model architecture to count FLOPs');
    }
    state.config = { ...cfg, ratio: solveBudgetRatio(cfg, opts.totalSteps, fullWidths, opts.arch) };
  }
  if (cfg.schedule === 'small-dense') {
    if (opts.arch === undefined) {
      throw new ConfigError('the small-dense schedule needs the model architecture to match FLOPs');
    }
    state.smallDense =
      cfg.widthMultiplier === undefined
        ? solveSmallDense(cfg, opts.totalSteps, fullWidths, opts.arch)
        : {
            multiplier: cfg.widthMultiplier,
            widths: multipliedWidths(cfg, fullWidths, cfg.widthMultiplier),
          };
  }
  return build(state);
}

/** Rebuilds a controller from `toJSON()` output (e.g. read from a checkpoint). */
export function agpControllerFromJSON(json: unknown): AgpController {
  return build(parseOrThrow(AgpControllerState, json, 'agp controller state'));
}
