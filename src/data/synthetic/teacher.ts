import type { SyntheticResolved } from '../../../schemas/synthetic';
import { createRng, type Rng } from '../../rng';
import type { NewValueEffects } from './drift';
import { mixSeed } from './seed';
import {
  calibrateTeacherBiases,
  createTeacherMlp,
  forwardTeacherMlp,
  type TeacherMlp,
} from './teacher-mlp';
import { ZipfSampler } from './zipf';

/** Rows drawn (from the teacher's own stream) to set biases, scales and the base rate. */
const CALIBRATION_ROWS = 8192;

/**
 * The planted model. For a row with transformed dense features z (log1p of the counts, missing
 * → 0, exactly what the student sees), standardised to t, and categories c_1..c_m:
 *
 *   logit = bias + dense(t) + Σ_j u_j[c_j] + Σ_{i<j} ω_ij ⟨v_i[c_i], v_j[c_j]⟩
 *
 * where dense(t) = a linear part plus the nonlinear residual of a deep relu MLP (their variance
 * split set by `teacherLinearShare`), u are per-category effects, v per-category interaction
 * vectors and ω random pair weights. Each of the three parts is centred and scaled on a
 * calibration sample so their variances split `logitStd²` by `denseShare` and `pairShare`; the
 * bias is then bisected so the mean true probability equals `baseRate`.
 */
export interface Teacher {
  readonly cfg: SyntheticResolved;
  /** Dense count distribution: g = M·n (n standard normal), count = floor(exp(mu + sigma·g)). */
  readonly mixing: Float64Array;
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
  readonly missProb: Float64Array;
  /** Standardisation of z: t = (z − zMean) · zInvStd. */
  readonly zMean: Float64Array;
  readonly zInvStd: Float64Array;
  readonly mlp: TeacherMlp;
  /** Linear fit of the MLP output on t: [intercept, β_1..β_n]. */
  readonly linFit: Float64Array;
  readonly samplers: ZipfSampler[];
  readonly first: Float64Array[];
  readonly vectors: Float64Array[];
  readonly pairWeights: Float64Array;
  /** dense(t) = linScale·(β·t − linMean) + resScale·(mlp − β0 − β·t). */
  linScale: number;
  linMean: number;
  resScale: number;
  firstScale: number;
  firstMean: number;
  pairScale: number;
  pairMean: number;
  bias: number;
}

/** Per-row scratch space, so generating rows allocates nothing. */
export interface RowScratch {
  /** Standard normals, then mixed into correlated normals. */
  readonly g: Float64Array;
  readonly mixed: Float64Array;
  /** Raw counts as a source would store them; NaN when missing. */
  readonly raw: Float64Array;
  /** Transformed values log1p(count), 0 when missing: what the student sees. */
  readonly z: Float64Array;
  /** Standardised z: the teacher MLP's input. */
  readonly t: Float64Array;
  readonly cats: Int32Array;
  /** The row's interaction vectors, [numSparse, interactionDim]. */
  readonly vecs: Float64Array;
}

export function createRowScratch(cfg: SyntheticResolved): RowScratch {
  const n = cfg.numDense;
  return {
    g: new Float64Array(n),
    mixed: new Float64Array(n),
    raw: new Float64Array(n),
    z: new Float64Array(n),
    t: new Float64Array(n),
    cats: new Int32Array(cfg.numSparse),
    vecs: new Float64Array(cfg.numSparse * cfg.interactionDim),
  };
}

/** Draws one row's features into `s`. */
export function drawFeatures(teacher: Teacher, rng: Rng, s: RowScratch): void {
  const { mixing, mu, sigma, missProb, zMean, zInvStd, samplers } = teacher;
  const n = mu.length;
  const { g, mixed, raw, z, t } = s;
  for (let f = 0; f < n; f++) g[f] = rng.normal();
  for (let f = 0; f < n; f++) {
    let x = 0;
    for (let k = 0; k < n; k++) x += (mixing[f * n + k] as number) * (g[k] as number);
    mixed[f] = x;
  }
  for (let f = 0; f < n; f++) {
    if (rng.next() < (missProb[f] as number)) {
      raw[f] = NaN;
      z[f] = 0;
    } else {
      const count = Math.floor(
        Math.exp((mu[f] as number) + (sigma[f] as number) * (mixed[f] as number)),
      );
      raw[f] = count;
      z[f] = Math.log1p(count);
    }
    t[f] = ((z[f] as number) - (zMean[f] as number)) * (zInvStd[f] as number);
  }
  for (let j = 0; j < samplers.length; j++) s.cats[j] = (samplers[j] as ZipfSampler).sample(rng);
}

/** First-order and pairwise embedding effects (raw, unscaled) of the categories in `s`. */
function embeddingParts(
  teacher: Teacher,
  s: RowScratch,
  extra?: NewValueEffects,
): [first: number, pair: number] {
  const cats = s.cats;
  const m = cats.length;
  const k = teacher.cfg.interactionDim;
  const flat = s.vecs;
  let first = 0;
  for (let j = 0; j < m; j++) {
    const c = cats[j] as number;
    const table = teacher.first[j] as Float64Array;
    if (c >= table.length && extra !== undefined) {
      // A value that entered with drift (src/data/synthetic/drift.ts).
      first += extra.first(j, c);
      flat.set(extra.vector(j, c), j * k);
      continue;
    }
    first += table[c] as number;
    const v = teacher.vectors[j] as Float64Array;
    for (let d = 0; d < k; d++) flat[j * k + d] = v[c * k + d] as number;
  }
  const w = teacher.pairWeights;
  let pair = 0;
  let p = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++, p++) {
      let dot = 0;
      for (let d = 0; d < k; d++) dot += (flat[i * k + d] as number) * (flat[j * k + d] as number);
      pair += (w[p] as number) * dot;
    }
  }
  return [first, pair];
}

/** The linear part β·t of the dense effect. */
function linearPart(teacher: Teacher, t: Float64Array): number {
  const fit = teacher.linFit;
  let lin = 0;
  for (let f = 0; f < t.length; f++) lin += (fit[f + 1] as number) * (t[f] as number);
  return lin;
}

function combine(
  teacher: Teacher,
  mlpOut: number,
  lin: number,
  first: number,
  pair: number,
): number {
  return (
    teacher.bias +
    teacher.linScale * (lin - teacher.linMean) +
    teacher.resScale * (mlpOut - (teacher.linFit[0] as number) - lin) +
    teacher.firstScale * (first - teacher.firstMean) +
    teacher.pairScale * (pair - teacher.pairMean)
  );
}

/** The teacher's logit for the features in `s` (`extra`: effects of values drift added). */
export function teacherLogit(teacher: Teacher, s: RowScratch, extra?: NewValueEffects): number {
  const y = forwardTeacherMlp(teacher.mlp, s.t);
  const [first, pair] = embeddingParts(teacher, s, extra);
  return combine(teacher, y, linearPart(teacher, s.t), first, pair);
}

const cache = new Map<string, Teacher>();

/** Builds (or reuses: train and test sources share one) the teacher of a configuration. */
export function getTeacher(cfg: SyntheticResolved): Teacher {
  // Drift changes rows, not the teacher: a drifting and a stationary stream share one.
  const { seed: _s, split: _p, rows: _r, drift: _d, ...teacherKnobs } = cfg;
  const key = JSON.stringify(teacherKnobs);
  let t = cache.get(key);
  if (t === undefined) {
    t = buildTeacher(cfg);
    if (cache.size >= 4) cache.delete(cache.keys().next().value as string);
    cache.set(key, t);
  }
  return t;
}

function buildTeacher(cfg: SyntheticResolved): Teacher {
  const rng = createRng(mixSeed(cfg.teacherSeed, 0x7eac4e5));
  const n = cfg.numDense;
  const mixing = new Float64Array(n * n);
  for (let f = 0; f < n; f++) {
    // Correlated dense features, as in real logs: each is mostly itself plus a shared mix.
    let norm = 0;
    for (let k = 0; k < n; k++) {
      const v = (f === k ? 1 : 0) + (0.35 * rng.normal()) / Math.sqrt(n);
      mixing[f * n + k] = v;
      norm += v * v;
    }
    for (let k = 0; k < n; k++) mixing[f * n + k] = (mixing[f * n + k] as number) / Math.sqrt(norm);
  }
  const mu = Float64Array.from({ length: n }, () => rng.next() * 3.5 * cfg.countLogScale);
  const sigma = Float64Array.from(
    { length: n },
    () => (0.6 + rng.next() * 1.2) * cfg.countLogScale,
  );
  const missProb = Float64Array.from({ length: n }, () =>
    Math.min(0.95, cfg.missingRate * 2 * rng.next()),
  );
  const samplers = cfg.cardinalities.map((c) => new ZipfSampler(c, cfg.zipfExponent));
  const first = cfg.cardinalities.map((c) => Float64Array.from({ length: c }, () => rng.normal()));
  const vectors = cfg.cardinalities.map((c) =>
    Float64Array.from({ length: c * cfg.interactionDim }, () => rng.normal()),
  );
  const m = cfg.numSparse;
  const pairWeights = Float64Array.from({ length: (m * (m - 1)) / 2 }, () => rng.normal());
  const mlp = createTeacherMlp(rng, n, cfg.teacherHidden, cfg.teacherFanIn);
  const teacher: Teacher = {
    cfg,
    mixing,
    mu,
    sigma,
    missProb,
    zMean: new Float64Array(n),
    zInvStd: new Float64Array(n).fill(1),
    mlp,
    linFit: new Float64Array(n + 1),
    samplers,
    first,
    vectors,
    pairWeights,
    linScale: 0,
    linMean: 0,
    resScale: 0,
    firstScale: 0,
    firstMean: 0,
    pairScale: 0,
    pairMean: 0,
    bias: 0,
  };
  calibrate(teacher, rng);
  return teacher;
}

function calibrate(teacher: Teacher, rng: Rng): void {
  const { cfg } = teacher;
  const n = cfg.numDense;
  const s = createRowScratch(cfg);
  const zs: Float64Array[] = [];
  const cats: Int32Array[] = [];
  const dataRng = rng.fork();
  for (let r = 0; r < CALIBRATION_ROWS; r++) {
    drawFeatures(teacher, dataRng, s);
    zs.push(Float64Array.from(s.z));
    cats.push(Int32Array.from(s.cats));
  }
  for (let f = 0; f < n; f++) {
    const col = zs.map((z) => z[f] as number);
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    const v = col.reduce((a, b) => a + (b - m) * (b - m), 0) / col.length;
    teacher.zMean[f] = m;
    teacher.zInvStd[f] = v > 1e-12 ? 1 / Math.sqrt(v) : 0;
  }
  const ts = zs.map((z) =>
    z.map((x, f) => (x - (teacher.zMean[f] as number)) * (teacher.zInvStd[f] as number)),
  );
  calibrateTeacherBiases(teacher.mlp, ts, rng);
  const ys = ts.map((t) => forwardTeacherMlp(teacher.mlp, t));
  teacher.linFit.set(leastSquares(ts, ys));

  const parts = ts.map((t, r) => {
    s.cats.set(cats[r] as Int32Array);
    const lin = linearPart(teacher, t);
    return [
      lin,
      (ys[r] as number) - (teacher.linFit[0] as number) - lin,
      ...embeddingParts(teacher, s),
    ];
  });
  const stat = (i: number): [number, number] => {
    const col = parts.map((p) => p[i] as number);
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    const v = col.reduce((a, b) => a + (b - m) * (b - m), 0) / col.length;
    return [m, Math.sqrt(v)];
  };
  const scaleFor = (share: number, sd: number): number =>
    sd > 1e-12 ? (Math.sqrt(share) * cfg.logitStd) / sd : 0;
  const [linMean, linSd] = stat(0);
  const [, resSd] = stat(1);
  const [firstMean, firstSd] = stat(2);
  const [pairMean, pairSd] = stat(3);
  teacher.linMean = linMean;
  teacher.linScale = scaleFor(cfg.denseShare * cfg.teacherLinearShare, linSd);
  teacher.resScale = scaleFor(cfg.denseShare * (1 - cfg.teacherLinearShare), resSd);
  teacher.firstMean = firstMean;
  teacher.firstScale = scaleFor((1 - cfg.denseShare) * (1 - cfg.pairShare), firstSd);
  teacher.pairMean = pairMean;
  teacher.pairScale = scaleFor((1 - cfg.denseShare) * cfg.pairShare, pairSd);
  const logits = parts.map((p, r) =>
    combine(teacher, ys[r] as number, p[0] as number, p[2] as number, p[3] as number),
  );
  teacher.bias = bisectBias(logits, cfg.baseRate);
}

/** The bias b with mean(sigmoid(b + logit)) = rate (monotone in b, so bisection). */
function bisectBias(logits: number[], rate: number): number {
  let lo = -30;
  let hi = 30;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    let m = 0;
    for (const l of logits) m += 1 / (1 + Math.exp(-(mid + l)));
    if (m / logits.length < rate) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Ordinary least squares y ≈ β0 + β·x (normal equations, Gaussian elimination with pivoting). */
export function leastSquares(xs: readonly Float64Array[], ys: readonly number[]): Float64Array {
  const d = (xs[0]?.length ?? 0) + 1;
  const a: Float64Array[] = Array.from({ length: d }, () => new Float64Array(d + 1));
  const row = new Float64Array(d);
  xs.forEach((x, r) => {
    row[0] = 1;
    row.set(x, 1);
    const y = ys[r] as number;
    for (let i = 0; i < d; i++) {
      const ai = a[i] as Float64Array;
      for (let j = 0; j < d; j++)
        ai[j] = (ai[j] as number) + (row[i] as number) * (row[j] as number);
      ai[d] = (ai[d] as number) + (row[i] as number) * y;
    }
  });
  // A tiny ridge keeps constant (e.g. never-present) columns from making the system singular.
  for (let i = 1; i < d; i++)
    (a[i] as Float64Array)[i] = ((a[i] as Float64Array)[i] as number) + 1e-9 * xs.length;
  for (let c = 0; c < d; c++) {
    let piv = c;
    for (let r = c + 1; r < d; r++)
      if (
        Math.abs((a[r] as Float64Array)[c] as number) >
        Math.abs((a[piv] as Float64Array)[c] as number)
      )
        piv = r;
    const tmp = a[c] as Float64Array;
    a[c] = a[piv] as Float64Array;
    a[piv] = tmp;
    const pc = a[c] as Float64Array;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const ar = a[r] as Float64Array;
      const f = (ar[c] as number) / (pc[c] as number);
      if (f === 0) continue;
      for (let j = c; j <= d; j++) ar[j] = (ar[j] as number) - f * (pc[j] as number);
    }
  }
  return Float64Array.from(
    { length: d },
    (_, i) => ((a[i] as Float64Array)[d] as number) / ((a[i] as Float64Array)[i] as number),
  );
}
