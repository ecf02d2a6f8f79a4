import { randomBytes } from 'node:crypto';

/**
 * An integer literal too long for a double to hold exactly (more than 15 digits), kept as its
 * decimal text. A categorical value hashes through its decimal text (src/data/hashing.ts), so an
 * id read this way hashes exactly as the same id sent as a string; a dense value takes the
 * nearest double. It never silently merges two ids, which `JSON.parse` would (2^53 + 1 → 2^53).
 */
export class ExactInteger {
  constructor(readonly text: string) {}
}

/** The request body is not JSON (nor JSON with TF Serving's NaN/Infinity tokens). */
export class JsonBodyError extends Error {
  override readonly name = 'JsonBodyError';
}

// A per-process marker, so a client's own string can never be taken for a replaced token.
const MARK = `agp-token-${randomBytes(8).toString('hex')}:`;

/** Bare tokens TF Serving's JSON reader accepts (RapidJSON's kParseNanAndInfFlag). */
const SPECIAL: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** Cheap test for "maybe needs the slow path": any long digit run, NaN or Infinity. */
const MAYBE_SPECIAL = /NaN|Infinity|\d{16}/;

/**
 * Rewrites, outside strings, bare `NaN`/`Infinity`/`-Infinity` tokens and integer literals of
 * more than 15 digits into marked strings; null when there are none.
 */
function rewrite(text: string): string | null {
  let out = '';
  let from = 0;
  let changed = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    const isMinus = c === 0x2d;
    const next = isMinus ? text.charCodeAt(i + 1) : c;
    if (next === 0x4e /* N */ || next === 0x49 /* I */) {
      const word = /^-?(NaN|Infinity)/.exec(text.slice(i, i + 9))?.[0];
      if (word !== undefined && word in SPECIAL) {
        out += `${text.slice(from, i)}"${MARK}${word}"`;
        i += word.length;
        from = i;
        changed = true;
        continue;
      }
    }
    if ((next >= 0x30 && next <= 0x39) || isMinus) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (m !== null) {
        const literal = m[0];
        if (m[1] === undefined && m[2] === undefined && literal.replace('-', '').length > 15) {
          const exact = BigInt(literal);
          if (exact > BigInt(Number.MAX_SAFE_INTEGER) || exact < -BigInt(Number.MAX_SAFE_INTEGER)) {
            out += `${text.slice(from, i)}"${MARK}${literal}"`;
            from = i + literal.length;
            changed = true;
          }
        }
        i += literal.length;
        continue;
      }
    }
    i++;
  }
  return changed ? out + text.slice(from) : null;
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith(MARK)) return value;
  const token = value.slice(MARK.length);
  return token in SPECIAL ? SPECIAL[token] : new ExactInteger(token);
}

/**
 * Parses a request body as TF Serving does: JSON plus the bare tokens `NaN`, `Infinity` and
 * `-Infinity`; integers beyond 2^53 become {@link ExactInteger}. Plain JSON takes
 * `JSON.parse`'s fast path.
 * @throws JsonBodyError saying what is wrong.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new JsonBodyError('the request body is empty');
  const special = MAYBE_SPECIAL.test(text) ? rewrite(text) : null;
  try {
    return special === null ? JSON.parse(text) : JSON.parse(special, revive);
  } catch (error) {
    throw new JsonBodyError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}
