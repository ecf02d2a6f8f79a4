import type { z } from 'zod';
import { ConfigError } from '../src/errors';

function joinPath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(root)';
}

/**
 * Edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of two
 * neighbouring letters count one each (`lable` is one typo from `label`), case-insensitive.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(s.length, t.length);
}

/**
 * The known name closest to `key`, when it is close enough to be a typo of it: at most a third
 * of the longer name's letters differ (`limt` → `limit`, `transfrom` → `transform`, `pth` → `path`).
 */
export function closestName(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(key.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Internals of a zod 4 schema that the walk below reads (the public API has no shape walk). */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  items?: readonly z.ZodType[];
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** The object schemas `schema` may be once wrappers (optional, default, pipe, lazy) are removed. */
function objectsOf(schema: z.ZodType, depth = 0): z.ZodType[] {
  if (depth > 20) return [];
  const def = defOf(schema);
  if (def.type === 'object') return [schema];
  if (def.type === 'union') return (def.options ?? []).flatMap((o) => objectsOf(o, depth + 1));
  if (def.type === 'pipe' && def.in) return objectsOf(def.in, depth + 1);
  if (def.type === 'lazy' && def.getter) return objectsOf(def.getter(), depth + 1);
  if (def.innerType) return objectsOf(def.innerType, depth + 1);
  return [];
}

/** The schemas found at `path` inside `schema` (several where a union offers several). */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[], depth = 0): z.ZodType[] {
  if (path.length === 0 || depth > 50) return [schema];
  const [key, ...rest] = path;
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const child = def.shape?.[String(key)];
      return child ? schemasAt(child, rest, depth + 1) : [];
    }
    case 'array':
      return def.element ? schemasAt(def.element, rest, depth + 1) : [];
    case 'tuple': {
      const item = def.items?.[Number(key)];
      return item ? schemasAt(item, rest, depth + 1) : [];
    }
    case 'record':
      return def.valueType ? schemasAt(def.valueType, rest, depth + 1) : [];
    case 'union':
      return (def.options ?? []).flatMap((o) => schemasAt(o, path, depth + 1));
    case 'pipe':
      return def.in ? schemasAt(def.in, path, depth + 1) : [];
    case 'lazy':
      return def.getter ? schemasAt(def.getter(), path, depth + 1) : [];
    default:
      return def.innerType ? schemasAt(def.innerType, path, depth + 1) : [];
  }
}

/** The field names an object at `path` of `schema` may have (every union member's). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema, path)) {
    for (const o of objectsOf(s)) for (const k of Object.keys(defOf(o).shape ?? {})) keys.add(k);
  }
  return [...keys];
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** What `formatZodIssues` may use besides the error itself. */
export interface FormatOptions {
  /** The schema that failed: an unknown key is then followed by the closest known field. */
  schema?: z.ZodType;
  /** The value that failed: a field it lacks is then called missing, not "Invalid input". */
  input?: unknown;
  /** Written before every line (e.g. the config file's name and ': '). */
  linePrefix?: string;
}

/**
 * Renders zod issues as `path.to.field: message` lines, so a user sees what is wrong and where;
 * an unknown key is its own line, `path.to.key: unknown field (did you mean 'limit'?)` when the
 * schema is given and a known field is close. `pathPrefix` places the schema's paths inside a
 * larger document (e.g. `model` of a training config).
 */
export function formatZodIssues(
  error: z.ZodError,
  pathPrefix: readonly PropertyKey[] = [],
  options: FormatOptions = {},
): string {
  const { schema, linePrefix = '' } = options;
  const hasInput = 'input' in options;
  return error.issues
    .flatMap((issue) => {
      const path = [...pathPrefix, ...issue.path];
      if (issue.code === 'unrecognized_keys') {
        const known = schema ? knownKeysAt(schema, issue.path) : [];
        return issue.keys.map((key) => {
          const near = closestName(key, known);
          const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
          return `${linePrefix}${joinPath([...path, key])}: unknown field${hint}`;
        });
      }
      const missing =
        hasInput &&
        (issue.code === 'invalid_type' || issue.code === 'invalid_union') &&
        issue.path.length > 0 &&
        valueAt(options.input, issue.path) === undefined &&
        typeof valueAt(options.input, issue.path.slice(0, -1)) === 'object';
      const message = missing ? 'missing (a required field)' : issue.message;
      return [`${linePrefix}${joinPath(path)}: ${message}`];
    })
    .join('\n');
}

/**
 * Parses `input` with `schema` or throws a ConfigError naming `where` and each bad field; with
 * `file`, every line starts with it (`file: path.to.key: unknown field (did you mean 'limit'?)`).
 */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: string,
  pathPrefix: readonly PropertyKey[] = [],
  file?: string,
): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const lines = formatZodIssues(result.error, pathPrefix, {
      schema,
      input,
      ...(file === undefined ? {} : { linePrefix: `${file}: ` }),
    });
    throw new ConfigError(`invalid ${where}:\n${lines}`);
  }
  return result.data;
}
