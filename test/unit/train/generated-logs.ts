import { createRng } from '../../../src/rng';

/*
 * Small click logs with known signal, as TSV lines (label first), for tests and bench:defaults.
 */

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Columns user, item, site (all categorical): a click is likely when the user's taste matches the
 * item's kind (signal only in the pair), plus a site bias.
 */

export function categoricalRows(n: number, seed: number): string[] {
  const rng = createRng(seed);
  const taste = Array.from({ length: 200 }, () => (rng.next() < 0.5 ? -1 : 1));
  const kind = Array.from({ length: 100 }, () => (rng.next() < 0.5 ? -1 : 1));
  return Array.from({ length: n }, () => {
    const u = rng.int(200);
    const i = rng.int(100);
    const s = rng.int(5);
    const p = sigmoid(2 * (taste[u] as number) * (kind[i] as number) + (s - 2) * 0.5);
    return `${rng.next() < p ? 1 : 0}\tu${u}\ti${i}\ts${s}`;
  });
}

/** Four numeric columns, a logistic teacher with one product term. */
export function denseRows(n: number, seed: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 4 }, () => rng.normal());
    const [a, b, c, d] = x as [number, number, number, number];
    const p = sigmoid(1.5 * a - b + c * d);
    return `${rng.next() < p ? 1 : 0}\t${x.map((v) => v.toFixed(4)).join('\t')}`;
  });
}
