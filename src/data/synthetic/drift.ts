import type { SyntheticDrift, SyntheticResolved } from '../../../schemas/synthetic';
import { createRng, type Rng } from '../../rng';
import { mixSeed } from './seed';
import { createRowScratch, drawFeatures, type RowScratch, type Teacher } from './teacher';
import {
  calibrateTeacherBiases,
  createTeacherMlp,
  forwardTeacherMlp,
  type TeacherMlp,
} from './teacher-mlp';

/** Rows drawn to scale the new component (from its own stream, so it never moves other rows). */
const COMPONENT_CALIBRATION_ROWS = 4096;
/** The new component: a small relu MLP over the standardised dense inputs. */
const COMPONENT_HIDDEN = [64, 32];
/** Rows over which the drift amounts are stated (d = rows past the start / this). */
export const DRIFT_UNIT_ROWS = 100_000;

/**
 * Teacher effects of categorical values the offline range never had (ids ≥ the feature's
 * cardinality): each new value's first-order effect and interaction vector are drawn from a
 * stream seeded by (teacherSeed, feature, id), so they do not depend on when they are first met.
 */
export interface NewValueEffects {
  first(feature: number, id: number): number;
  vector(feature: number, id: number): Float64Array;
}

/** What drifts, resolved for one teacher: see {@link applyDrift}. */
export interface DriftModel {
  readonly drift: SyntheticDrift;
  /** Per feature: the Zipf frequency of rank `newValueRank`, which each new value takes. */
  readonly newValueMass: Float64Array;
  readonly cardinalities: readonly number[];
  readonly effects: NewValueEffects;
  readonly component: TeacherMlp;
  readonly componentMean: number;
  readonly componentScale: number;
}

const cache = new Map<string, DriftModel>();

/** The drift model of a configuration with `drift` set (cached like the teacher). */
export function getDriftModel(teacher: Teacher, cfg: SyntheticResolved): DriftModel {
  const drift = cfg.drift;
  if (drift === undefined) throw new Error('getDriftModel needs a configuration with drift');
  const { seed: _s, split: _p, rows: _r, ...knobs } = cfg;
  const key = JSON.stringify(knobs);
  let model = cache.get(key);
  if (model === undefined) {
    model = buildDriftModel(teacher, cfg, drift);
    if (cache.size >= 4) cache.delete(cache.keys().next().value as string);
    cache.set(key, model);
  }
  return model;
}

function zipfMass(n: number, exponent: number, rank: number): number {
  let total = 0;
  for (let k = 1; k <= n; k++) total += Math.pow(k, -exponent);
  return Math.pow(rank, -exponent) / total;
}

function newValueEffects(teacherSeed: number, dim: number): NewValueEffects {
  const tables = new Map<number, { first: number; vector: Float64Array }>();
  const get = (feature: number, id: number) => {
    const key = feature * 0x100000000 + id;
    let e = tables.get(key);
    if (e === undefined) {
      const rng = createRng(mixSeed(teacherSeed, 0x4e3a1, feature, id));
      e = { first: rng.normal(), vector: Float64Array.from({ length: dim }, () => rng.normal()) };
      tables.set(key, e);
    }
    return e;
  };
  return {
    first: (feature, id) => get(feature, id).first,
    vector: (feature, id) => get(feature, id).vector,
  };
}

function buildDriftModel(teacher: Teacher, cfg: SyntheticResolved, drift: SyntheticDrift) {
  const rng = createRng(mixSeed(cfg.teacherSeed, 0xc0a9e47));
  const component = createTeacherMlp(rng, cfg.numDense, COMPONENT_HIDDEN, 0);
  const s = createRowScratch(cfg);
  const dataRng = rng.fork();
  const ts: Float64Array[] = [];
  for (let r = 0; r < COMPONENT_CALIBRATION_ROWS; r++) {
    drawFeatures(teacher, dataRng, s);
    ts.push(Float64Array.from(s.t));
  }
  calibrateTeacherBiases(component, ts, rng);
  const ys = ts.map((t) => forwardTeacherMlp(component, t));
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mean) * (b - mean), 0) / ys.length);
  return {
    drift,
    newValueMass: Float64Array.from(cfg.cardinalities, (c) =>
      zipfMass(c, cfg.zipfExponent, drift.newValueRank),
    ),
    cardinalities: cfg.cardinalities,
    effects: newValueEffects(cfg.teacherSeed, cfg.interactionDim),
    component,
    componentMean: mean,
    componentScale: sd > 1e-12 ? (Math.sqrt(drift.componentShare) * cfg.logitStd) / sd : 0,
  };
}

/**
 * Drifts one drawn row at `row` (≥ `drift.startRow`) in place and returns the logit it adds.
 * With d = (row − startRow) / 100k:
 * - `floor(newValuesPer100k·d)` new values per categorical feature have entered the Zipf head,
 *   each at the frequency of rank `newValueRank` (together at most `newValueMaxShare`); a row's
 *   value is replaced by one of them, uniformly, with that probability;
 * - the teacher's dense input weights are rotated by `rotationPer100k·d` radians in the planes
 *   of input pairs (0,1), (2,3), …: the same features now mean something else to the teacher;
 * - from `componentAfterRows` on, a new relu component over the inputs adds to the logit;
 * - the bias moves by `baseRateShiftPer100k·d`.
 * Draws only from `rng` (the block's drift stream), so undrifted rows are untouched.
 */
export function applyDrift(model: DriftModel, row: number, rng: Rng, s: RowScratch): number {
  const { drift } = model;
  const past = row - drift.startRow;
  const d = past / DRIFT_UNIT_ROWS;
  const introduced = Math.floor(drift.newValuesPer100k * d);
  for (let j = 0; j < s.cats.length; j++) {
    const pNew = Math.min(drift.newValueMaxShare, introduced * (model.newValueMass[j] as number));
    const u = rng.next();
    const pick = rng.int(Math.max(1, introduced));
    if (introduced > 0 && u < pNew) s.cats[j] = (model.cardinalities[j] as number) + pick;
  }
  let extra = drift.baseRateShiftPer100k * d;
  if (past >= drift.componentAfterRows && model.componentScale > 0) {
    const y = forwardTeacherMlp(model.component, s.t);
    extra += model.componentScale * (y - model.componentMean);
  }
  const angle = drift.rotationPer100k * d;
  if (angle !== 0) {
    const c = Math.cos(angle);
    const sn = Math.sin(angle);
    const t = s.t;
    for (let f = 0; f + 1 < t.length; f += 2) {
      const a = t[f] as number;
      const b = t[f + 1] as number;
      t[f] = c * a - sn * b;
      t[f + 1] = sn * a + c * b;
    }
  }
  return extra;
}
