import type { Rng } from '../../rng';

/**
 * Samples ranks 0..n-1 with P(k) ∝ 1/(k+1)^s in O(1) per draw (Walker/Vose alias method), so
 * cardinalities of 1e5 cost no more per row than 10.
 */
export class ZipfSampler {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(
    readonly n: number,
    readonly exponent: number,
  ) {
    const weights = new Float64Array(n);
    let total = 0;
    for (let k = 0; k < n; k++) total += weights[k] = Math.pow(k + 1, -exponent);
    const scaled = weights.map((w) => (w * n) / total);
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, k) => (p < 1 ? small : large).push(k));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop() as number;
      const l = large[large.length - 1] as number;
      this.prob[s] = scaled[s] as number;
      this.alias[s] = l;
      scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
      if ((scaled[l] as number) < 1) small.push(large.pop() as number);
    }
    for (const k of large) this.prob[k] = 1;
    for (const k of small) this.prob[k] = 1;
  }

  /** One rank from one uniform draw. */
  sample(rng: Rng): number {
    const u = rng.next() * this.n;
    const i = Math.floor(u);
    return u - i < (this.prob[i] as number) ? i : (this.alias[i] as number);
  }
}
