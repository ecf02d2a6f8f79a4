/**
 * Feature hashing: raw categorical values (strings or integers) → embedding-table rows.
 *
 * FNV-1a over the value's UTF-8 bytes, with the offset basis mixed with the table index so each
 * table hashes differently, then murmur3's fmix32 finaliser: FNV-1a alone leaves the low bits
 * poorly mixed, and `h % buckets` reads exactly those bits.
 *
 * Numbers are hashed through their decimal text, so `123` and `'123'` land in the same bucket:
 * a column that is an integer in Parquet and a string in a Kafka event hashes identically.
 * Integers take a fast path that feeds the digits without building a string.
 */

/** The bucket that every missing value (empty string, null, undefined, NaN) maps to. */
export const MISSING_BUCKET = 0;

const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a's 32-bit prime (exported for the SavedModel export's graph of this hash). */
export const FNV_PRIME = 0x01000193;

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a's starting value for table `tableIndex` (each table hashes differently). */
export function tableBasis(tableIndex: number): number {
  return (FNV_OFFSET ^ fmix32(Math.imul(tableIndex + 1, 0x9e3779b1))) >>> 0;
}

function hashString(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    // Multi-byte UTF-8 (lone surrogates are encoded as their 3-byte form, like WTF-8).
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h;
}

const digits = new Uint8Array(16);

function hashSafeInteger(n: number, h: number): number {
  if (n < 0) {
    h = Math.imul(h ^ 0x2d, FNV_PRIME);
    n = -n;
  }
  let len = 0;
  do {
    digits[len++] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  while (len > 0) h = Math.imul(h ^ (digits[--len] as number), FNV_PRIME);
  return h;
}

/**
 * Hashes one raw categorical value into `[0, buckets)` for table `tableIndex`.
 *
 * Missing values (`''`, `null`, `undefined`, `NaN`) map to {@link MISSING_BUCKET} (row 0), and
 * present values to `1 + hash % (buckets - 1)`, so a missing value never shares a row with a
 * present one (with `buckets === 1` everything maps to row 0). Stable across runs and platforms.
 */
export function hashCategorical(
  raw: string | number | null | undefined,
  tableIndex: number,
  buckets: number,
): number {
  if (raw === null || raw === undefined || raw === '' || buckets <= 1) return MISSING_BUCKET;
  let h = tableBasis(tableIndex);
  if (typeof raw === 'number') {
    if (Number.isNaN(raw)) return MISSING_BUCKET;
    h = Number.isSafeInteger(raw) ? hashSafeInteger(raw, h) : hashString(String(raw), h);
  } else {
    h = hashString(raw, h);
  }
  return 1 + (fmix32(h) % (buckets - 1));
}
