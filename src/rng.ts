/**
 * A small, fast, seedable PRNG (sfc32) whose whole state is four uint32s, so checkpoints can
 * store it and a resumed run draws exactly the numbers an uninterrupted run would.
 */
export type RngState = readonly [number, number, number, number];

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller; the spare value is not cached, so the state alone defines the stream). */
  normal(): number;
  /** The current state, for checkpoints. */
  state(): RngState;
  /** Restores a state taken with `state()`. */
  restore(state: RngState): void;
  /** An independent generator derived from this one's stream (for per-component streams). */
  fork(): Rng;
}

/** Creates a generator from an integer seed. Equal seeds give equal streams. */
export function createRng(seed: number): Rng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const nextU32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  // Warm up so that nearby seeds give unrelated streams.
  for (let i = 0; i < 15; i++) nextU32();
  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    int: (n) => Math.floor((nextU32() / 4294967296) * n),
    normal: () => {
      const u = (nextU32() + 1) / 4294967297;
      const v = nextU32() / 4294967296;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0],
    restore: (s) => {
      [a, b, c, d] = s;
    },
    fork: () => createRng(nextU32() ^ (nextU32() << 1)),
  };
  return rng;
}
