import { fmix32 } from '../hashing';

/** Mixes integers into one 32-bit seed (murmur3 fmix per element), for independent streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    h = fmix32(h ^ Math.imul(((p | 0) ^ (p / 4294967296)) | 0, 0x9e3779b1));
  }
  return h;
}
