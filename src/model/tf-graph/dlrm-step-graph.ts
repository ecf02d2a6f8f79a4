import { DT_FLOAT, DT_INT32, GraphBuilder, type Attr } from './graph-builder';

/*
 * DLRM's training step (forward, BCE loss, backward) as one TensorFlow graph, so that a step on
 * the `tensorflow` backend is one session run instead of ~75 eager op calls whose fixed cost
 * (50–190 µs each on this machine) outweighed the arithmetic of a pruned model. The hidden
 * widths and the batch size are left unknown (−1) in the graph, so the same graph serves the
 * full-width model and every AGP-pruned one. It mirrors backprop.ts operation for operation; a
 * unit test holds the two to the same numbers.
 */

/** What fixes a step graph: layer counts and the feature layout. Widths and B stay dynamic. */
export interface StepGraphSpec {
  numDense: number;
  numBottomLayers: number;
  numTopLayers: number;
  /** Embedding tables F. */
  numSparse: number;
  /** Embedding dimension D (also the bottom MLP's output width). */
  dim: number;
}

/** Input and output node names of the step graph (feeds and fetches of a session run). */
export const stepGraphNames = {
  dense: 'dense',
  slab: 'slab',
  labels: 'labels',
  gradScale: 'grad_scale',
  logits: 'logits',
  loss: 'loss',
  slabGrad: 'slab_grad',
  weight: (tower: 'bottom' | 'top', index: number, part: 'w' | 'b'): string =>
    `${tower}_${part}_${index}`,
  /** The weight's gradient times grad_scale. */
  grad: (tower: 'bottom' | 'top', index: number, part: 'w' | 'b'): string =>
    `grad_${tower}_${part}_${index}`,
  /** weight − grad: the SGD update when grad_scale is the learning rate. */
  updated: (tower: 'bottom' | 'top', index: number, part: 'w' | 'b'): string =>
    `updated_${tower}_${part}_${index}`,
  /** Per-neuron batch mean of |a · dLoss/da| of hidden layer `tower.index` (Taylor importance). */
  probe: (tower: 'bottom' | 'top', index: number): string => `probe_${tower}_${index}`,
};

const T: Record<string, Attr> = { T: { type: DT_FLOAT } };

/** Row-major [n·n] index of the strictly-lower pair (i > j) in the [P] pair list. */
function pairIndex(i: number, j: number): number {
  return (i * (i - 1)) / 2 + j;
}

/** The GraphDef of the step for `spec`. */
export function buildStepGraph(spec: StepGraphSpec, producer: number): Uint8Array {
  const g = new GraphBuilder();
  const n = spec.numSparse + 1;
  const D = spec.dim;
  const P = (n * (n - 1)) / 2;
  const names = stepGraphNames;

  const matMul = (a: string, b: string, ta = false, tb = false): string =>
    g.node('MatMul', [a, b], { ...T, transpose_a: { bool: ta }, transpose_b: { bool: tb } });
  const op = (name: string, ...inputs: string[]): string => g.node(name, inputs, T);
  const slice = (x: string, begin: number[], size: number[]): string =>
    g.node('Slice', [x, g.int32(begin), g.int32(size)], { ...T, Index: { type: DT_INT32 } });
  const reshape = (x: string, dims: number[]): string =>
    g.node('Reshape', [x, g.int32(dims)], { ...T, Tshape: { type: DT_INT32 } });
  const concat = (xs: string[], axis: number): string =>
    g.node('ConcatV2', [...xs, g.int32([axis], [])], {
      ...T,
      N: { int: xs.length },
      Tidx: { type: DT_INT32 },
    });
  const gather = (x: string, indices: number[]): string =>
    g.node('GatherV2', [x, g.int32(indices), g.int32([1], [])], {
      Tparams: { type: DT_FLOAT },
      Tindices: { type: DT_INT32 },
      Taxis: { type: DT_INT32 },
      batch_dims: { int: 0 },
    });
  const meanOverBatch = (x: string, name?: string): string =>
    g.node(
      'Mean',
      [x, g.int32([0])],
      {
        ...T,
        Tidx: { type: DT_INT32 },
        keep_dims: { bool: false },
      },
      name,
    );
  const identity = (x: string, name: string): string => g.node('Identity', [x], T, name);

  const dense = g.placeholder(names.dense, [-1, spec.numDense]);
  const slab = g.placeholder(names.slab, [-1, spec.numSparse, D]);
  const labels = g.placeholder(names.labels, [-1]);
  const gradScale = g.placeholder(names.gradScale, []);
  const weights = (tower: 'bottom' | 'top', count: number): Array<{ w: string; b: string }> =>
    Array.from({ length: count }, (_, i) => ({
      w: g.placeholder(names.weight(tower, i, 'w'), [-1, -1]),
      b: g.placeholder(names.weight(tower, i, 'b'), [-1]),
    }));
  const bottom = weights('bottom', spec.numBottomLayers);
  const top = weights('top', spec.numTopLayers);

  const mlpForward = (layers: Array<{ w: string; b: string }>, x: string, linearLast: boolean) => {
    const ys: string[] = [];
    let h = x;
    layers.forEach((layer, i) => {
      h = g.node('BiasAdd', [matMul(h, layer.w), layer.b], T);
      if (!(linearLast && i === layers.length - 1)) h = op('Relu', h);
      ys.push(h);
    });
    return ys;
  };

  // Forward: bottom MLP, dot interaction (strictly-lower Gram triangle), top MLP.
  const bottomYs = mlpForward(bottom, dense, false);
  const bottomOut = bottomYs[bottomYs.length - 1] as string;
  const z = concat(
    [g.node('ExpandDims', [bottomOut, g.int32([1], [])], { ...T, Tdim: { type: DT_INT32 } }), slab],
    1,
  );
  const gram = g.node('BatchMatMulV2', [z, z], {
    ...T,
    adj_x: { bool: false },
    adj_y: { bool: true },
  });
  const lower: number[] = [];
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) lower.push(i * n + j);
  const interOut = concat([bottomOut, gather(reshape(gram, [-1, n * n]), lower)], 1);
  const topYs = mlpForward(top, interOut, true);
  identity(topYs[topYs.length - 1] as string, names.logits);

  // BCE with logits, stable form; its gradient (σ(x) − y) / B.
  const x = reshape(topYs[topYs.length - 1] as string, [-1]);
  const softplusNegAbs = op('Log1p', op('Exp', op('Neg', op('Abs', x))));
  const terms = op('AddV2', op('Sub', op('Relu', x), op('Mul', x, labels)), softplusNegAbs);
  identity(meanOverBatch(terms), names.loss);
  const batch = g.node('Cast', [g.node('Size', [x], { ...T, out_type: { type: DT_INT32 } })], {
    SrcT: { type: DT_INT32 },
    DstT: { type: DT_FLOAT },
    Truncate: { bool: false },
  });
  const dLogits = reshape(op('RealDiv', op('Sub', op('Sigmoid', x), labels), batch), [-1, 1]);

  const mlpBackward = (
    tower: 'bottom' | 'top',
    layers: Array<{ w: string; b: string }>,
    input: string,
    ys: string[],
    dy: string,
    linearLast: boolean,
  ): string => {
    let grad = dy;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as { w: string; b: string };
      const layerIn = i === 0 ? input : (ys[i - 1] as string);
      const dz =
        linearLast && i === layers.length - 1 ? grad : op('ReluGrad', grad, ys[i] as string);
      const parts = { w: matMul(layerIn, dz, true, false), b: op('BiasAddGrad', dz) };
      for (const part of ['w', 'b'] as const) {
        const scaled = g.node('Mul', [parts[part], gradScale], T, names.grad(tower, i, part));
        g.node('Sub', [layer[part], scaled], T, names.updated(tower, i, part));
      }
      // The bottom's input gradient (dLoss/d dense features) is never needed.
      if (i === 0 && tower === 'bottom') break;
      grad = matMul(dz, layer.w, false, true);
      if (i > 0) meanOverBatch(op('Abs', op('Mul', layerIn, grad)), names.probe(tower, i - 1));
    }
    return grad;
  };

  const dTopIn = mlpBackward('top', top, interOut, topYs, dLogits, true);
  // Interaction backward: dZ = dSym·Z, dSym the symmetric [n, n] matrix of the pair gradients
  // with a zero diagonal, gathered from the pair gradients padded by one zero column.
  const dPairs = g.node('Pad', [slice(dTopIn, [0, D], [-1, -1]), g.int32([0, 0, 0, 1], [2, 2])], {
    ...T,
    Tpaddings: { type: DT_INT32 },
  });
  const sym: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) sym.push(i === j ? P : pairIndex(Math.max(i, j), Math.min(i, j)));
  }
  const dz = g.node('BatchMatMulV2', [reshape(gather(dPairs, sym), [-1, n, n]), z], {
    ...T,
    adj_x: { bool: false },
    adj_y: { bool: false },
  });
  const dBottom = op(
    'AddV2',
    reshape(slice(dz, [0, 0, 0], [-1, 1, -1]), [-1, D]),
    slice(dTopIn, [0, 0], [-1, D]),
  );
  identity(slice(dz, [0, 1, 0], [-1, -1, -1]), names.slabGrad);
  mlpBackward('bottom', bottom, dense, bottomYs, dBottom, false);
  return g.graphDef(producer);
}
