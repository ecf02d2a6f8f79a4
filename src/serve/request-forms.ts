import { ExactInteger } from './json-body';
import type { RequestIssue } from './predict-request';

/** The feature names of a version, in the order of the exported signature's tensors. */
export interface FeatureNames {
  dense: readonly string[];
  sparse: readonly string[];
}

/** One instance as named feature maps (the click event's `dense` and `sparse`). */
export interface FeatureRecord {
  dense: Record<string, unknown>;
  sparse: Record<string, unknown>;
}

/** How the request was written: TF Serving answers `predictions` to rows, `outputs` to columns. */
export type RequestForm = 'row' | 'columnar';

/** The instances of a request, or the issues that make it unreadable. */
export type ReadInstances =
  { form: RequestForm; instances: FeatureRecord[] } | { issues: RequestIssue[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof ExactInteger)
  );
}

/** A dense value as the model reads it: a non-finite one (NaN, Infinity) is missing. */
function denseValue(v: unknown): unknown {
  if (v instanceof ExactInteger) return Number(v.text);
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

/** A categorical value: an exact big integer keeps its decimal text (the hash reads the text). */
function sparseValue(v: unknown): unknown {
  if (v instanceof ExactInteger) return v.text;
  if (typeof v === 'number' && Number.isNaN(v)) return null;
  return v;
}

/**
 * One feature group as a named map, from either a named map (absent features are missing) or
 * the exported signature's tensor row (values in the signature's order; NaN or '' = missing).
 */
function group(
  value: unknown,
  names: readonly string[],
  convert: (v: unknown) => unknown,
  path: string,
  issues: RequestIssue[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value === undefined || value === null) {
    for (const name of names) out[name] = null;
    return out;
  }
  if (Array.isArray(value)) {
    if (value.length !== names.length) {
      issues.push({
        path,
        message: `expected ${names.length} values (the signature's tensor [-1, ${names.length}]: ${names.join(', ')}), got ${value.length}`,
      });
      return out;
    }
    names.forEach((name, i) => (out[name] = convert(value[i])));
    return out;
  }
  if (!isPlainObject(value)) {
    issues.push({ path, message: 'expected a map of feature name → value, or a list of values' });
    return out;
  }
  for (const name of names) out[name] = Object.hasOwn(value, name) ? convert(value[name]) : null;
  // Unknown names stay, for the click-event schema to refuse with their path.
  for (const key of Object.keys(value)) {
    if (names.includes(key)) continue;
    // defineProperty: a `__proto__` key must stay an own key for the schema to refuse.
    Object.defineProperty(out, key, { value: value[key], enumerable: true, writable: true });
  }
  return out;
}

function record(
  instance: unknown,
  names: FeatureNames,
  path: string,
  issues: RequestIssue[],
): FeatureRecord {
  if (!isPlainObject(instance)) {
    issues.push({ path, message: 'expected an object with "dense" and/or "sparse"' });
    return { dense: {}, sparse: {} };
  }
  for (const key of Object.keys(instance)) {
    if (key !== 'dense' && key !== 'sparse') {
      issues.push({
        path: `${path}.${key}`,
        message: `unknown input '${key}' (the signature's inputs are dense and sparse)`,
      });
    }
  }
  return {
    dense: group(instance['dense'], names.dense, denseValue, `${path}.dense`, issues),
    sparse: group(instance['sparse'], names.sparse, sparseValue, `${path}.sparse`, issues),
  };
}

/**
 * Reads a predict body in either of TF Serving's forms: `{"instances": [...]}` (rows) or
 * `{"inputs": {...}}` (columns: `{"dense": [[…], …], "sparse": [[…], …]}`, or named maps of
 * columns). An instance holds the two inputs as named feature maps or as the signature's tensor
 * rows.
 */
export function readInstances(
  body: unknown,
  names: FeatureNames,
  maxInstances: number,
): ReadInstances {
  const issues: RequestIssue[] = [];
  if (!isPlainObject(body)) {
    return { issues: [{ path: '(body)', message: 'expected a JSON object' }] };
  }
  for (const key of Object.keys(body)) {
    if (key !== 'instances' && key !== 'inputs' && key !== 'signature_name') {
      issues.push({
        path: key,
        message: `unknown key '${key}' (instances, inputs, signature_name)`,
      });
    }
  }
  const signature = body['signature_name'];
  if (signature !== undefined && signature !== '' && signature !== 'serving_default') {
    issues.push({
      path: 'signature_name',
      message: `no signature '${String(signature)}' (the one signature is serving_default)`,
    });
  }
  const hasRows = Object.hasOwn(body, 'instances');
  const hasColumns = Object.hasOwn(body, 'inputs');
  if (hasRows === hasColumns) {
    issues.push({ path: '(body)', message: 'expected exactly one of "instances" or "inputs"' });
    return { issues };
  }
  let rows: unknown[];
  let form: RequestForm;
  if (hasRows) {
    form = 'row';
    const instances = body['instances'];
    if (!Array.isArray(instances)) {
      return { issues: [...issues, { path: 'instances', message: 'expected a list' }] };
    }
    rows = instances;
  } else {
    form = 'columnar';
    const inputs = body['inputs'];
    if (!isPlainObject(inputs)) {
      return {
        issues: [...issues, { path: 'inputs', message: 'expected a map of input → column' }],
      };
    }
    const lengths = new Set<number>();
    for (const key of Object.keys(inputs)) {
      const column = inputs[key];
      if (key !== 'dense' && key !== 'sparse') {
        issues.push({ path: `inputs.${key}`, message: `unknown input '${key}' (dense, sparse)` });
      } else if (Array.isArray(column)) lengths.add(column.length);
      else if (isPlainObject(column)) {
        for (const v of Object.values(column)) lengths.add(Array.isArray(v) ? v.length : -1);
      } else issues.push({ path: `inputs.${key}`, message: 'expected a list of rows' });
    }
    if (lengths.has(-1) || lengths.size > 1) {
      issues.push({ path: 'inputs', message: 'every input must have the same number of rows' });
    }
    if (issues.length > 0) return { issues };
    const n = lengths.size === 0 ? 0 : [...lengths][0]!;
    const columnAt = (key: 'dense' | 'sparse', i: number): unknown => {
      const column = inputs[key];
      if (Array.isArray(column)) return column[i];
      if (!isPlainObject(column)) return undefined;
      return Object.fromEntries(Object.entries(column).map(([k, v]) => [k, (v as unknown[])[i]]));
    };
    rows = Array.from({ length: n }, (_, i) => ({
      ...(Object.hasOwn(inputs, 'dense') ? { dense: columnAt('dense', i) } : {}),
      ...(Object.hasOwn(inputs, 'sparse') ? { sparse: columnAt('sparse', i) } : {}),
    }));
  }
  const where = form === 'row' ? 'instances' : 'inputs';
  if (rows.length === 0) issues.push({ path: where, message: 'at least one instance' });
  if (rows.length > maxInstances) {
    issues.push({ path: where, message: `at most ${maxInstances} instances per request` });
  }
  if (issues.length > 0) return { issues };
  const instances = rows.map((row, i) => record(row, names, `instances.${i}`, issues));
  return issues.length > 0 ? { issues } : { form, instances };
}

/**
 * `:regress`'s examples (TF Serving's `{"examples": [{feature: value, …}]}`, flat maps, with an
 * optional `context` merged into each) as feature records; a name is dense or categorical by the
 * version's spec.
 */
export function readExamples(
  body: unknown,
  names: FeatureNames,
  maxInstances: number,
): ReadInstances {
  if (!isPlainObject(body) || !Array.isArray(body['examples'])) {
    return { issues: [{ path: 'examples', message: 'expected {"examples": [{feature: value}]}' }] };
  }
  const issues: RequestIssue[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'examples' && key !== 'context' && key !== 'signature_name') {
      issues.push({
        path: key,
        message: `unknown key '${key}' (examples, context, signature_name)`,
      });
    }
  }
  const context = isPlainObject(body['context']) ? body['context'] : {};
  const examples = body['examples'];
  if (examples.length === 0) issues.push({ path: 'examples', message: 'at least one example' });
  if (examples.length > maxInstances) {
    issues.push({ path: 'examples', message: `at most ${maxInstances} examples per request` });
  }
  const instances: FeatureRecord[] = [];
  examples.forEach((example, i) => {
    if (!isPlainObject(example)) {
      issues.push({ path: `examples.${i}`, message: 'expected a map of feature name → value' });
      return;
    }
    const all = { ...context, ...example };
    const dense: Record<string, unknown> = {};
    const sparse: Record<string, unknown> = {};
    for (const name of names.dense) dense[name] = denseValue(all[name] ?? null);
    for (const name of names.sparse) sparse[name] = sparseValue(all[name] ?? null);
    for (const key of Object.keys(all)) {
      if (!names.dense.includes(key) && !names.sparse.includes(key)) {
        issues.push({ path: `examples.${i}.${key}`, message: `unknown feature '${key}'` });
      }
    }
    instances.push({ dense, sparse });
  });
  return issues.length > 0 ? { issues } : { form: 'row', instances };
}
