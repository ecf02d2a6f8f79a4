/**
 * The paired statistics of the AGP benchmark: per-seed differences of two methods, their mean
 * and a 95% Student-t confidence interval. Pure, no I/O.
 */

/** Natural log of the gamma function (Lanczos, g = 7), accurate to ~1e-15 for x > 0. */
function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531,
    -176.61503916999186, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b) by its continued fraction (Numerical Recipes' betacf). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const num of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      -((a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return (front * h) / a;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the CDF). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) {
    throw new RangeError(`studentTQuantile needs 0 < p < 1 and df > 0, got p ${p}, df ${df}`);
  }
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean and two-sided `level` Student-t confidence interval of a sample. */
export interface MeanCi {
  mean: number;
  /** [lo, hi]; [mean, mean] is never returned for n < 2: the interval is then unknown (NaN). */
  ci: [number, number];
  n: number;
}

/** The mean of `xs` and its two-sided confidence interval at `level` (default 0.95). */
export function meanCi(xs: readonly number[], level = 0.95): MeanCi {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, ci: [Number.NaN, Number.NaN], n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, ci: [Number.NaN, Number.NaN], n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(variance / n);
  return { mean, ci: [mean - half, mean + half], n };
}

/**
 * Paired relative differences in %: for every key present in both `a` and `b` (seeds), 100 ×
 * (a − b) / b, then their mean and 95% CI. For a wall-time ratio this is (ratio − 1) × 100.
 */
export function pairedPct(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
  level = 0.95,
): MeanCi {
  const diffs: number[] = [];
  for (const [key, va] of [...a].sort((x, y) => x[0] - y[0])) {
    const vb = b.get(key);
    if (vb !== undefined && vb !== 0) diffs.push((100 * (va - vb)) / vb);
  }
  return meanCi(diffs, level);
}

/** The median of a non-empty sample (NaN for an empty one). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
