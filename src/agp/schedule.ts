import type { AgpConfig, AgpLength } from '../../schemas/agp-config';
import { ConfigError } from '../errors';

/**
 * The AGP schedule resolved into a timeline of phases over step numbers. Pure: no tensors.
 * `warmup` (full width) → per cycle `pruned` then `grown` (full width) → `final` (full width).
 * The `dense` and `small-dense` baselines are one `warmup` phase over the whole run (they never
 * leave it); `prune-only` is `warmup` then one `pruned` phase to the end.
 */
export type AgpPhase = 'warmup' | 'pruned' | 'grown' | 'final';

/** Surgery due before a step: `prune` (some layer narrows) or `grow` (layers return to full width). */
export type AgpEvent = 'prune' | 'grow';

/** Width (number of neurons) of each hidden layer, by name (`bottom.0`, `top.1`, …). */
export type Widths = Readonly<Record<string, number>>;

/** One constant-width stretch of the run: steps [start, end). */
export interface PhaseSpan {
  phase: AgpPhase;
  /** 1-based cycle of `pruned`/`grown` spans; 0 for `warmup`; `cycles` for `final`. */
  cycle: number;
  start: number;
  end: number;
  widths: Widths;
  /** Surgery to do before `start`; absent when the widths do not change there. */
  event?: AgpEvent;
}

/** Resolves a length given in steps or as a fraction of the run to whole steps (fractions round down). */
export function resolveLength(value: AgpLength, totalSteps: number): number {
  // The epsilon keeps 0.29 × 100 (= 28.999…) at 29 steps.
  return value < 1 ? Math.floor(value * totalSteps + 1e-9) : value;
}

/** Neurons kept when `ratio` of `full` are removed: at least 1, so a layer never vanishes. */
export function keptWidth(full: number, ratio: number): number {
  return Math.max(1, Math.min(full, Math.round(full * (1 - ratio))));
}

/** Per-layer prune ratios; a layer missing from a per-layer map is not pruned. */
export function resolveRatios(
  ratio: AgpConfig['ratio'],
  fullWidths: Widths,
): Record<string, number> {
  const names = Object.keys(fullWidths);
  if (typeof ratio === 'number') return Object.fromEntries(names.map((n) => [n, ratio]));
  for (const key of Object.keys(ratio)) {
    if (!(key in fullWidths)) {
      throw new ConfigError(
        `invalid agp config:\nratio.${key}: no such hidden layer (the model has ${names.join(', ') || 'none'})`,
      );
    }
  }
  return Object.fromEntries(names.map((n) => [n, ratio[n] ?? 0]));
}

/** Widths after removing `fraction` × each layer's ratio (fraction < 1 for ramped prunes). */
export function prunedWidths(
  fullWidths: Widths,
  ratios: Readonly<Record<string, number>>,
  fraction = 1,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(fullWidths).map(([n, w]) => [n, keptWidth(w, (ratios[n] ?? 0) * fraction)]),
  );
}

function sameWidths(a: Widths, b: Widths): boolean {
  return Object.keys(a).every((k) => a[k] === b[k]);
}

function fail(field: string, message: string): never {
  throw new ConfigError(`invalid agp config:\n${field}: ${message}`);
}

/** The pruned spans of one cycle: `ramp` narrowing steps over the first half of the phase. */
function prunedSpans(
  cfg: AgpConfig,
  cycle: number,
  start: number,
  length: number,
  fullWidths: Widths,
  ratios: Readonly<Record<string, number>>,
): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  for (let k = 0; k < cfg.ramp; k++) {
    const s = start + Math.floor((k * length) / (2 * cfg.ramp));
    const e =
      k + 1 < cfg.ramp ? start + Math.floor(((k + 1) * length) / (2 * cfg.ramp)) : start + length;
    const widths = prunedWidths(fullWidths, ratios, (k + 1) / cfg.ramp);
    spans.push({ phase: 'pruned', cycle, start: s, end: e, widths });
  }
  return spans;
}

/** Checks the lengths of an `agp` schedule against the run and returns them in steps. */
function agpLengths(cfg: AgpConfig, totalSteps: number) {
  const warmup = resolveLength(cfg.warmup, totalSteps);
  const prune = resolveLength(cfg.prune, totalSteps);
  const grow = resolveLength(cfg.grow, totalSteps);
  const finalDense = resolveLength(cfg.finalDense, totalSteps);
  if (prune < 1)
    fail('prune', `a pruned phase needs at least 1 step (got ${prune} of ${totalSteps})`);
  if (cfg.cycles > 1 && grow < 1) {
    fail('grow', `with ${cfg.cycles} cycles the grown phase between them needs at least 1 step`);
  }
  if (cfg.ramp > 1 && 2 * cfg.ramp > prune) {
    fail(
      'ramp',
      `${cfg.ramp} prune events need a pruned phase of at least ${2 * cfg.ramp} steps (prune = ${prune})`,
    );
  }
  const used = warmup + cfg.cycles * prune + (cfg.cycles - 1) * grow;
  const final = totalSteps - used;
  const need = Math.max(1, finalDense);
  if (final < need) {
    const detail =
      `warmup ${warmup} + cycles ${cfg.cycles} × prune ${prune} + ${cfg.cycles - 1} × grow ${grow}` +
      ` + finalDense ${need} = ${used + need} steps, but the run has ${totalSteps}`;
    const what =
      final < 1
        ? 'the schedule must end full-width, but it ends in a pruned phase'
        : 'the final dense phase is too short';
    fail('warmup, cycles, prune, grow, finalDense', `${what}: ${detail}`);
  }
  return { warmup, prune, grow, final };
}

/** Attaches the surgery events: a span starts with `prune` if any layer narrows, `grow` if any widens. */
function withEvents(spans: PhaseSpan[], initial: Widths): PhaseSpan[] {
  let previous = initial;
  return spans
    .filter((s) => s.end > s.start)
    .map((s) => {
      const out: PhaseSpan = { ...s };
      if (!sameWidths(previous, s.widths)) {
        const narrows = Object.keys(s.widths).some((k) => (s.widths[k] ?? 0) < (previous[k] ?? 0));
        out.event = narrows ? 'prune' : 'grow';
      }
      previous = s.widths;
      return out;
    });
}

/**
 * Resolves a config into its timeline over `totalSteps` steps. `smallDenseWidths` are the
 * constant widths of the `small-dense` baseline (the controller solves them from FLOPs).
 * Throws a ConfigError naming the field when the schedule overlaps, exceeds the run, or would
 * not end full-width (`agp`).
 */
export function buildTimeline(
  cfg: AgpConfig,
  totalSteps: number,
  fullWidths: Widths,
  smallDenseWidths?: Widths,
): PhaseSpan[] {
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new ConfigError(`the run needs a positive integer number of steps, got ${totalSteps}`);
  }
  const full = { ...fullWidths };
  const whole = (widths: Widths): PhaseSpan[] => [
    { phase: 'warmup', cycle: 0, start: 0, end: totalSteps, widths },
  ];
  if (cfg.schedule === 'dense') return whole(full);
  const ratios = resolveRatios(cfg.ratio, fullWidths);
  if (sameWidths(prunedWidths(fullWidths, ratios), fullWidths)) {
    fail('ratio', 'removes no neuron of any hidden layer, so there is nothing to prune');
  }
  if (cfg.schedule === 'small-dense') {
    if (smallDenseWidths === undefined) {
      throw new ConfigError(
        'the small-dense schedule needs its widths (solved from the agp FLOPs)',
      );
    }
    return whole({ ...smallDenseWidths });
  }
  const warmup = resolveLength(cfg.warmup, totalSteps);
  if (cfg.schedule === 'prune-only') {
    if (warmup >= totalSteps) {
      fail('warmup', `${warmup} steps leave no pruned phase in a run of ${totalSteps}`);
    }
    const spans = [
      { phase: 'warmup', cycle: 0, start: 0, end: warmup, widths: full } as const,
      ...prunedSpans(cfg, 1, warmup, totalSteps - warmup, fullWidths, ratios),
    ];
    return withEvents(spans, full);
  }
  const len = agpLengths(cfg, totalSteps);
  const spans: PhaseSpan[] = [
    { phase: 'warmup', cycle: 0, start: 0, end: len.warmup, widths: full },
  ];
  let at = len.warmup;
  for (let c = 1; c <= cfg.cycles; c++) {
    spans.push(...prunedSpans(cfg, c, at, len.prune, fullWidths, ratios));
    at += len.prune;
    if (c < cfg.cycles) {
      spans.push({ phase: 'grown', cycle: c, start: at, end: at + len.grow, widths: full });
      at += len.grow;
    }
  }
  spans.push({ phase: 'final', cycle: cfg.cycles, start: at, end: totalSteps, widths: full });
  return withEvents(spans, full);
}
