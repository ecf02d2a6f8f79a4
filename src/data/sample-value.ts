/**
 * A decoded cell as `inspect` shows it: a bigint (INT64 / Int64 columns) as a number when
 * exact, else as decimal text, so samples print and serialise; undefined as null; anything
 * else (numbers, strings, booleans, Dates) as it is.
 */
export function printable(v: unknown): unknown {
  if (typeof v !== 'bigint') return v ?? null;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}
