import type { AgpConfig } from '../../schemas/agp-config';
import { AgpError } from '../errors';
import type { DenseTowers, TowerSlots } from '../model/params';
import type { Rng } from '../rng';
import { grow } from './grow';
import { computeImportance } from './importance';
import { planPrune } from './plan';
import type { PruneRecord, PruneSnapshot } from './prune-record';
import type { Widths } from './schedule';
import { prune, widthsOf } from './surgery';

/**
 * One call for the trainer when the controller announces an event: brings the towers to the
 * controller's widths with the configured importance and growth policy.
 */

/**
 * What a run carries from a prune to the grow that ends its pruned phase. A checkpoint stores
 * `record` as JSON and the snapshot's tensors via `snapshotEntries`.
 */
export interface AgpSurgeryState {
  record?: PruneRecord;
  /** Only with `growth: 'restore'`. */
  snapshot?: PruneSnapshot;
  /**
   * With `rotation`: per layer, the (full-width) indices of the neurons the last pruned phase
   * removed; the next prune keeps them and rests others.
   */
  rested?: Record<string, number[]>;
}

/**
 * The importance the prune plan ranks by under rotation: neurons rested in the last pruned phase
 * rank above every other (they are kept), the rest by their own importance.
 */
export function rotationImportance(
  importance: Readonly<Record<string, Float32Array>>,
  rested: Readonly<Record<string, number[]>>,
  record: PruneRecord | undefined,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, scores] of Object.entries(importance)) {
    const protect = new Set(rested[name] ?? []);
    const kept = record?.layers[name]?.kept;
    out[name] = scores.map((v, k) => (protect.has(kept?.[k] ?? k) ? Infinity : v));
  }
  return out;
}

/** Arguments of `reshapeTo`. */
export interface ReshapeArgs {
  towers: DenseTowers;
  slots: TowerSlots;
  /** The controller's widths for the step about to train. */
  target: Widths;
  config: AgpConfig;
  state: AgpSurgeryState;
  rng: Rng;
  /** Mean taylor scores per hidden layer (`createTaylorAccumulator().mean()`), for `taylor`. */
  taylor?: Readonly<Record<string, Float32Array>>;
}

/** Result of `reshapeTo`: the new towers, slots and surgery state (the inputs are taken over). */
export interface ReshapeResult {
  towers: DenseTowers;
  slots: TowerSlots;
  state: AgpSurgeryState;
  event: 'prune' | 'grow' | 'none';
}

/**
 * Prunes (by importance) or grows (by the growth policy) so every hidden layer has its target
 * width. A prune narrows; a grow returns the pruned layers to full width; a mix of both in one
 * event is an error (the controller never asks for one).
 */
export function reshapeTo(args: ReshapeArgs): ReshapeResult {
  const { towers, slots, target, config, state, rng } = args;
  const current = widthsOf(towers);
  const names = Object.keys(current);
  const narrower = names.filter((n) => (target[n] ?? current[n] ?? 0) < (current[n] ?? 0));
  const wider = names.filter((n) => (target[n] ?? current[n] ?? 0) > (current[n] ?? 0));
  if (narrower.length > 0 && wider.length > 0) {
    throw new AgpError(
      'MixedReshape',
      `one event cannot both narrow ${narrower.join(', ')} and widen ${wider.join(', ')}`,
    );
  }
  if (narrower.length > 0) {
    const importance = computeImportance(towers, config.importance, args.taylor);
    const keepSnapshot = config.growth === 'restore';
    const ranking =
      config.rotation && state.rested !== undefined
        ? rotationImportance(importance, state.rested, state.record)
        : importance;
    const p = prune(towers, slots, planPrune(ranking, target), {
      importance,
      keepSnapshot,
      ...(state.record ? { record: state.record } : {}),
      ...(state.snapshot ? { snapshot: state.snapshot } : {}),
    });
    const next: AgpSurgeryState = { record: p.record };
    if (p.snapshot !== undefined) next.snapshot = p.snapshot;
    if (state.rested !== undefined) next.rested = state.rested;
    return { towers: p.towers, slots: p.slots, state: next, event: 'prune' };
  }
  if (wider.length === 0) return { towers, slots, state, event: 'none' };
  const record = state.record;
  const notFull = [
    ...wider.filter((n) => record?.layers[n]?.fullWidth !== target[n]),
    ...Object.keys(record?.layers ?? {}).filter((n) => !wider.includes(n)),
  ];
  if (record === undefined || notFull.length > 0) {
    throw new AgpError(
      'NotAGrow',
      `a grow returns pruned layers to their full width; cannot widen ${notFull.join(', ') || wider.join(', ')}`,
    );
  }
  // Split copies in proportion to the kept neurons' importance now, after the pruned training.
  const importance =
    config.importance === 'taylor' && args.taylor === undefined
      ? undefined
      : computeImportance(towers, config.importance, args.taylor);
  const g = grow(towers, slots, record, config.growth, rng, {
    splitNoise: config.splitNoise,
    ...(importance ? { importance } : {}),
    ...(state.snapshot ? { snapshot: state.snapshot } : {}),
  });
  if (!config.rotation) return { towers: g.towers, slots: g.slots, state: {}, event: 'grow' };
  const rested = Object.fromEntries(
    Object.entries(record.layers).map(([name, l]) => {
      const kept = new Set(l.kept);
      return [name, Array.from({ length: l.fullWidth }, (_, j) => j).filter((j) => !kept.has(j))];
    }),
  );
  return { towers: g.towers, slots: g.slots, state: { rested }, event: 'grow' };
}
