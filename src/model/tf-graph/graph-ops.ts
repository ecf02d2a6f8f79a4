import { DT_FLOAT, DT_INT32, type Attr, type GraphBuilder } from './graph-builder';

/*
 * Shorthands for the float32 TensorFlow ops the step graph uses, with their required attributes
 * filled in (TensorFlow refuses a NodeDef without them). Every function adds one node (plus its
 * int32 constants) and returns the node's output name.
 */

const T: Record<string, Attr> = { T: { type: DT_FLOAT } };
const I32 = { type: DT_INT32 };

/** The op shorthands over one GraphBuilder. */
export type GraphOps = ReturnType<typeof createGraphOps>;

/** Op shorthands adding nodes to `g`. */
export function createGraphOps(g: GraphBuilder) {
  return {
    /** An op whose only attribute is T = float (Relu, Mul, Sub, AddV2, Exp, …). */
    op: (name: string, ...inputs: string[]): string => g.node(name, inputs, T),
    /** A named op of T = float (names are the graph's feeds and fetches). */
    named: (op: string, inputs: string[], name: string): string => g.node(op, inputs, T, name),
    matMul: (a: string, b: string, transposeA = false, transposeB = false): string =>
      g.node('MatMul', [a, b], {
        ...T,
        transpose_a: { bool: transposeA },
        transpose_b: { bool: transposeB },
      }),
    batchMatMul: (a: string, b: string, adjointB = false, adjointA = false): string =>
      g.node('BatchMatMulV2', [a, b], {
        ...T,
        adj_x: { bool: adjointA },
        adj_y: { bool: adjointB },
      }),
    slice: (x: string, begin: number[], size: number[]): string =>
      g.node('Slice', [x, g.int32(begin), g.int32(size)], { ...T, Index: I32 }),
    reshape: (x: string, dims: number[]): string =>
      g.node('Reshape', [x, g.int32(dims)], { ...T, Tshape: I32 }),
    expandDims: (x: string, axis: number): string =>
      g.node('ExpandDims', [x, g.int32([axis], [])], { ...T, Tdim: I32 }),
    /** Concatenation along `axis`; a single input is returned as it is (ConcatV2 needs two). */
    concat: (xs: string[], axis: number): string =>
      xs.length === 1
        ? (xs[0] as string)
        : g.node('ConcatV2', [...xs, g.int32([axis], [])], {
            ...T,
            N: { int: xs.length },
            Tidx: I32,
          }),
    /** Zero padding of a 2-D tensor: `after` columns appended. */
    padColumns: (x: string, after: number): string =>
      g.node('Pad', [x, g.int32([0, 0, 0, after], [2, 2])], { ...T, Tpaddings: I32 }),
    /**
     * A 2-D tensor cut into consecutive column blocks of `sizes` (SplitV along axis 1): one
     * output name per block, in order. Each block is a contiguous copy per row.
     */
    splitColumns: (x: string, sizes: number[]): string[] => {
      const node = g.node('SplitV', [x, g.int32(sizes), g.int32([1], [])], {
        ...T,
        Tlen: I32,
        num_split: { int: sizes.length },
      });
      return sizes.map((_, k) => (k === 0 ? node : `${node}:${k}`));
    },
    /** The elementwise sum of same-shaped tensors. */
    addN: (xs: string[], name?: string): string =>
      g.node('AddN', xs, { ...T, N: { int: xs.length } }, name),
    /** Mean over axis 0 (the batch). */
    meanOverBatch: (x: string, name?: string): string =>
      g.node('Mean', [x, g.int32([0])], { ...T, Tidx: I32, keep_dims: { bool: false } }, name),
    /** The number of elements of x, as a float scalar. */
    sizeAsFloat: (x: string): string =>
      g.node('Cast', [g.node('Size', [x], { ...T, out_type: I32 })], {
        SrcT: I32,
        DstT: { type: DT_FLOAT },
        Truncate: { bool: false },
      }),
  };
}
