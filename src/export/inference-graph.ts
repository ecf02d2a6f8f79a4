import type { FeatureSpec } from '../../schemas/feature-spec';
import { ConfigError } from '../errors';
import {
  DT_BOOL,
  DT_FLOAT,
  DT_INT32,
  DT_INT64,
  DT_STRING,
  DT_UINT8,
  GraphBuilder,
  type Attr,
  type Signature,
} from '../model/tf-graph/graph-builder';
import { tableBasis, FNV_PRIME, MISSING_BUCKET } from '../data/hashing';

/*
 * The inference graph of a DLRM version as plain TensorFlow ops, for a SavedModel that
 * TensorFlow Serving (or any TensorFlow runtime) runs without this project: raw feature values
 * in, click probability out. It re-implements, op for op, what serving code does in JavaScript
 * — transformDense (missing → 0, log1p, clip) and hashCategorical (FNV-1a over the UTF-8 bytes
 * with a per-table basis, murmur3's fmix32, 1 + h mod (buckets − 1), '' → row 0) — then the
 * bottom MLP, the dot interaction and the top MLP with the version's weights as constants.
 *
 * The hash is exact in int64 arithmetic: every product is of a value below 2^32 and a factor
 * below 2^25 (FNV's prime) or 2^16 (fmix32's constants are multiplied in two 16-bit halves), so
 * nothing overflows, and the result is masked back to 32 bits after each step.
 */

/** One dense layer's weights: w is [in, out] row-major. */
export interface LayerWeights {
  w: Float32Array;
  b: Float32Array;
  in: number;
  out: number;
}

/** Everything the graph needs from a trained model. */
export interface InferenceWeights {
  bottom: LayerWeights[];
  top: LayerWeights[];
  /** One table per categorical feature, rows × dim row-major. */
  tables: Float32Array[];
  dim: number;
}

/** Names of the serving signature's tensors (TF Serving's REST `instances` use these keys). */
export const SIGNATURE = {
  key: 'serving_default',
  dense: 'dense',
  sparse: 'sparse',
  output: 'probability',
} as const;

const MASK32 = 0xffffffff;

/** The features the graph can compute: read directly, without `derive` or `cross`. */
export function checkExportable(spec: FeatureSpec): void {
  for (const f of [...spec.dense, ...spec.sparse]) {
    if (f.derive !== undefined || ('cross' in f && f.cross !== undefined)) {
      throw new ConfigError(
        `feature '${f.name}' is ${f.derive ? `derived (${f.derive.kind})` : 'a cross'}: the SavedModel export computes only features read as they are; serve this model with agp serve`,
      );
    }
  }
}

/**
 * Builds the graph and its `serving_default` signature. Inputs: `dense` float32 [N, numDense]
 * (raw values; 0 or NaN for missing) when the spec has dense features, `sparse` string
 * [N, numSparse] (raw values as text, '' for missing) when it has categorical ones. Output:
 * `probability` float32 [N].
 */
export function buildInferenceGraph(
  spec: FeatureSpec,
  weights: InferenceWeights,
): { graph: GraphBuilder; signature: Signature } {
  checkExportable(spec);
  if (weights.tables.length !== spec.sparse.length) {
    throw new ConfigError(
      `the model has ${weights.tables.length} embedding tables, its feature spec ${spec.sparse.length} categorical features`,
    );
  }
  const g = new GraphBuilder();
  const typed = (dtype: number): Record<string, Attr> => ({ T: { type: dtype } });
  const F = spec.sparse.length;
  const numDense = spec.dense.length;
  const inputs: Signature['inputs'] = {};

  // Bottom MLP input: the transformed dense features, or a column of ones without any.
  let bottomIn: string;
  let sparseIn: string | null = null;
  if (F > 0) {
    sparseIn = g.placeholder(SIGNATURE.sparse, [-1, F], DT_STRING);
    inputs[SIGNATURE.sparse] = { tensor: `${sparseIn}:0`, dtype: DT_STRING, dims: [-1, F] };
  }
  if (numDense > 0) {
    const x = g.placeholder(SIGNATURE.dense, [-1, numDense], DT_FLOAT);
    inputs[SIGNATURE.dense] = { tensor: `${x}:0`, dtype: DT_FLOAT, dims: [-1, numDense] };
    bottomIn = denseTransform(g, x, spec);
  } else {
    // [N, 1] of ones, N taken from the sparse input.
    const lengths = g.node('StringLength', [sparseIn as string], { unit: { string: 'BYTE' } });
    const firstColumn = g.node('Slice', [lengths, g.int32([0, 0]), g.int32([-1, 1])], {
      ...typed(DT_INT32),
      Index: { type: DT_INT32 },
    });
    const asFloat = g.node('Cast', [firstColumn], {
      SrcT: { type: DT_INT32 },
      DstT: { type: DT_FLOAT },
    });
    bottomIn = g.node('OnesLike', [asFloat], typed(DT_FLOAT));
  }

  const bottomOut = mlp(g, bottomIn, weights.bottom, 'bottom', 'relu');
  let topIn = bottomOut;
  if (F > 0) {
    const buckets = hashColumns(g, sparseIn as string, spec);
    const slab = embeddingSlab(g, buckets, weights);
    topIn = interaction(g, bottomOut, slab, F);
  }
  const logits = mlp(g, topIn, weights.top, 'top', 'linear');
  const p = g.node('Sigmoid', [logits], typed(DT_FLOAT));
  const output = g.node(
    'Reshape',
    [p, g.int32([-1])],
    { ...typed(DT_FLOAT), Tshape: { type: DT_INT32 } },
    SIGNATURE.output,
  );
  return {
    graph: g,
    signature: {
      inputs,
      outputs: {
        [SIGNATURE.output]: { tensor: `${output}:0`, dtype: DT_FLOAT, dims: [-1] },
      },
      methodName: 'tensorflow/serving/predict',
    },
  };
}

/** transformDense for every column: non-finite → 0, then log1p(max(x, 0)) where asked, then clip. */
function denseTransform(g: GraphBuilder, x: string, spec: FeatureSpec): string {
  const T = { T: { type: DT_FLOAT } };
  const n = spec.dense.length;
  const finite = g.node('IsFinite', [x], T);
  const zeros = g.node('ZerosLike', [x], T);
  const x0 = g.node('SelectV2', [finite, x, zeros], T);
  const logged = g.node('Log1p', [g.node('Maximum', [x0, zeros], T)], T);
  const useLog = g.constant({
    dtype: DT_BOOL,
    dims: [n],
    content: Uint8Array.from(spec.dense, (f) => (f.transform === 'log1p' ? 1 : 0)),
  });
  const transformed = g.node('SelectV2', [useLog, logged, x0], T);
  const lo = Float32Array.from(spec.dense, (f) => f.clip?.[0] ?? -Number.MAX_VALUE);
  const hi = Float32Array.from(spec.dense, (f) => f.clip?.[1] ?? Number.MAX_VALUE);
  // ±MAX_VALUE becomes ±Infinity in float32: no clip for a feature without a range.
  const low = g.node('Maximum', [transformed, g.float32(lo, [n])], T);
  return g.node('Minimum', [low, g.float32(hi, [n])], T);
}

/** a × c mod 2^32 for a < 2^32 and a 32-bit constant c, without overflowing int64. */
function imul32(g: GraphBuilder, a: string, c: number): string {
  const T = { T: { type: DT_INT64 } };
  const lo = g.node('Mul', [a, g.int64([c & 0xffff], [])], T);
  const hiProduct = g.node('Mul', [a, g.int64([c >>> 16], [])], T);
  const hi = g.node(
    'LeftShift',
    [g.node('BitwiseAnd', [hiProduct, g.int64([0xffff], [])], T), g.int64([16], [])],
    T,
  );
  return g.node('BitwiseAnd', [g.node('AddV2', [lo, hi], T), g.int64([MASK32], [])], T);
}

/** h ^ (h >>> shift) for 0 ≤ h < 2^32. */
function xorShift(g: GraphBuilder, h: string, shift: number): string {
  const T = { T: { type: DT_INT64 } };
  return g.node('BitwiseXor', [h, g.node('RightShift', [h, g.int64([shift], [])], T)], T);
}

/**
 * hashCategorical for every cell of the string input [N, F] → int64 rows [N, F]. Exported for
 * the test that compares it with the JavaScript hash cell by cell.
 *
 * FNV-1a runs over each value's bytes in a while loop (TensorFlow's v1 control flow: Enter,
 * Merge, Switch, NextIteration, Exit), one byte of every cell per iteration up to the longest
 * value in the batch, so a value of any length hashes exactly as the service hashes it.
 */
export function hashColumns(g: GraphBuilder, sparse: string, spec: FeatureSpec): string {
  const T64 = { T: { type: DT_INT64 } };
  const T32 = { T: { type: DT_INT32 } };
  const F = spec.sparse.length;
  const lengths32 = g.node('StringLength', [sparse], { unit: { string: 'BYTE' } });
  const lengths = g.node('Cast', [lengths32], {
    SrcT: { type: DT_INT32 },
    DstT: { type: DT_INT64 },
  });
  const longest = g.node('Max', [lengths32, g.int32([0, 1])], {
    ...T32,
    Tidx: { type: DT_INT32 },
    keep_dims: { bool: false },
  });
  // One byte past each value's end, so reading at position = length still yields one byte.
  const padded = g.node('StringJoin', [sparse, g.bytesScalar(new Uint8Array(1))], {
    N: { int: 2 },
    separator: { string: '' },
  });
  const shape = g.node('Shape', [lengths], { ...T64, out_type: { type: DT_INT32 } });
  const basis = g.node(
    'AddV2',
    [g.node('ZerosLike', [lengths], T64), g.int64(spec.sparse.map((_, f) => tableBasis(f)))],
    T64,
  );

  const frame = { frame_name: { string: 'agp_fnv1a' }, parallel_iterations: { int: 1 } };
  const enter = (x: string, type: number, constant: boolean): string =>
    g.node('Enter', [x], { T: { type }, ...frame, is_constant: { bool: constant } });
  // Loop invariants and constants enter the loop's frame once.
  const lengthsIn = enter(lengths, DT_INT64, true);
  const lengths32In = enter(lengths32, DT_INT32, true);
  const longestIn = enter(longest, DT_INT32, true);
  const paddedIn = enter(padded, DT_STRING, true);
  const shapeIn = enter(shape, DT_INT32, true);
  const oneIn = enter(g.int32([1], []), DT_INT32, true);
  // Substr wants pos and len of one shape.
  const onesIn = enter(g.node('OnesLike', [lengths32], T32), DT_INT32, true);
  const primeIn = enter(g.int64([FNV_PRIME], []), DT_INT64, true);
  const maskIn = enter(g.int64([MASK32], []), DT_INT64, true);

  // Loop variables: the byte position i (int32 scalar) and the running hashes h (int64 [N, F]).
  const iEnter = enter(g.int32([0], []), DT_INT32, false);
  const hEnter = enter(basis, DT_INT64, false);
  const iNextName = `${iEnter}_next`;
  const hNextName = `${hEnter}_next`;
  const iMerge = g.node('Merge', [iEnter, iNextName], { ...T32, N: { int: 2 } });
  const hMerge = g.node('Merge', [hEnter, hNextName], { ...T64, N: { int: 2 } });
  const more = g.node('LoopCond', [g.node('Less', [iMerge, longestIn], T32)]);
  const iSwitch = g.node('Switch', [iMerge, more], T32);
  const hSwitch = g.node('Switch', [hMerge, more], T64);
  const i = g.node('Identity', [`${iSwitch}:1`], T32);
  const h = g.node('Identity', [`${hSwitch}:1`], T64);

  const at = g.node('Minimum', [i, lengths32In], T32);
  const piece = g.node('Substr', [paddedIn, at, onesIn], {
    T: { type: DT_INT32 },
    unit: { string: 'BYTE' },
  });
  const raw = g.node('DecodeRaw', [piece], {
    out_type: { type: DT_UINT8 },
    little_endian: { bool: true },
  });
  const byte = g.node(
    'Cast',
    [g.node('Reshape', [raw, shapeIn], { T: { type: DT_UINT8 }, Tshape: { type: DT_INT32 } })],
    { SrcT: { type: DT_UINT8 }, DstT: { type: DT_INT64 } },
  );
  const next = g.node(
    'BitwiseAnd',
    [g.node('Mul', [g.node('BitwiseXor', [h, byte], T64), primeIn], T64), maskIn],
    T64,
  );
  const i64 = g.node('Cast', [i], { SrcT: { type: DT_INT32 }, DstT: { type: DT_INT64 } });
  const live = g.node('Less', [i64, lengthsIn], T64);
  g.node('NextIteration', [g.node('AddV2', [i, oneIn], T32)], T32, iNextName);
  g.node('NextIteration', [g.node('SelectV2', [live, next, h], T64)], T64, hNextName);
  g.node('Exit', [iSwitch], T32);
  let hashed = g.node('Exit', [hSwitch], T64);

  // murmur3's fmix32.
  hashed = xorShift(g, hashed, 16);
  hashed = imul32(g, hashed, 0x85ebca6b);
  hashed = xorShift(g, hashed, 13);
  hashed = imul32(g, hashed, 0xc2b2ae35);
  hashed = xorShift(g, hashed, 16);

  // 1 + h mod (buckets − 1); '' (and any table of one row) → the missing row.
  const modulus = g.int64(spec.sparse.map((f) => Math.max(1, f.buckets - 1)));
  const row = g.node('AddV2', [g.node('FloorMod', [hashed, modulus], T64), g.int64([1], [])], T64);
  const present = g.node('LogicalAnd', [
    g.node('Greater', [lengths, g.int64([0], [])], T64),
    g.constant({
      dtype: DT_BOOL,
      dims: [F],
      content: Uint8Array.from(spec.sparse, (f) => (f.buckets > 1 ? 1 : 0)),
    }),
  ]);
  return g.node('SelectV2', [present, row, g.int64([MISSING_BUCKET], [])], T64);
}

/** The embedding rows of every categorical feature: int64 [N, F] → float [N, F, D]. */
function embeddingSlab(g: GraphBuilder, rows: string, weights: InferenceWeights): string {
  const F = weights.tables.length;
  const columns = g.node('Unpack', [rows], {
    T: { type: DT_INT64 },
    num: { int: F },
    axis: { int: 1 },
  });
  const gathered = weights.tables.map((table, f) => {
    const t = g.float32(table, [table.length / weights.dim, weights.dim], `embedding_${f}`);
    return g.node('GatherV2', [t, f === 0 ? columns : `${columns}:${f}`, g.int32([0], [])], {
      Tparams: { type: DT_FLOAT },
      Tindices: { type: DT_INT64 },
      Taxis: { type: DT_INT32 },
      batch_dims: { int: 0 },
    });
  });
  return g.node('Pack', gathered, { T: { type: DT_FLOAT }, N: { int: F }, axis: { int: 1 } });
}

/** DLRM's dot interaction, as interactionArch: [bottom, strictly-lower pairs of Z·Zᵀ]. */
function interaction(g: GraphBuilder, bottomOut: string, slab: string, F: number): string {
  const T = { T: { type: DT_FLOAT } };
  const n = F + 1;
  const z = g.node(
    'ConcatV2',
    [
      g.node('ExpandDims', [bottomOut, g.int32([1], [])], { ...T, Tdim: { type: DT_INT32 } }),
      slab,
      g.int32([1], []),
    ],
    { ...T, N: { int: 2 }, Tidx: { type: DT_INT32 } },
  );
  const gram = g.node('BatchMatMulV2', [z, z], {
    ...T,
    adj_x: { bool: false },
    adj_y: { bool: true },
  });
  const flat = g.node('Reshape', [gram, g.int32([-1, n * n])], {
    ...T,
    Tshape: { type: DT_INT32 },
  });
  const lower: number[] = [];
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) lower.push(i * n + j);
  const pairs = g.node('GatherV2', [flat, g.int32(lower), g.int32([1], [])], {
    Tparams: { type: DT_FLOAT },
    Tindices: { type: DT_INT32 },
    Taxis: { type: DT_INT32 },
    batch_dims: { int: 0 },
  });
  return g.node('ConcatV2', [bottomOut, pairs, g.int32([1], [])], {
    ...T,
    N: { int: 2 },
    Tidx: { type: DT_INT32 },
  });
}

/** x·w + b per layer, ReLU after each (after the last too unless `last` is 'linear'). */
function mlp(
  g: GraphBuilder,
  x: string,
  layers: readonly LayerWeights[],
  tower: string,
  last: 'relu' | 'linear',
): string {
  const T = { T: { type: DT_FLOAT } };
  let h = x;
  layers.forEach((layer, i) => {
    const w = g.float32(layer.w, [layer.in, layer.out], `${tower}_${i}_w`);
    const b = g.float32(layer.b, [layer.out], `${tower}_${i}_b`);
    h = g.node(
      'BiasAdd',
      [
        g.node('MatMul', [h, w], {
          ...T,
          transpose_a: { bool: false },
          transpose_b: { bool: false },
        }),
        b,
      ],
      T,
    );
    if (i < layers.length - 1 || last === 'relu') h = g.node('Relu', [h], T);
  });
  return h;
}
