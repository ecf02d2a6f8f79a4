import type { TowerName } from '../params';
import { GraphBuilder } from './graph-builder';
import { createGraphOps, type GraphOps } from './graph-ops';

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
  /**
   * ½ · the squared global L2 norm of the unscaled gradient (every weight and the slab), for the
   * numerical guard: one extra scalar fetch instead of an eager pass over every gradient.
   */
  gradHalfSqNorm: 'grad_half_sq_norm',
  weight: (tower: TowerName, index: number, part: 'w' | 'b'): string => `${tower}_${part}_${index}`,
  /** The weight's gradient times grad_scale. */
  grad: (tower: TowerName, index: number, part: 'w' | 'b'): string =>
    `grad_${tower}_${part}_${index}`,
  /** weight − grad: the SGD update when grad_scale is the learning rate. */
  updated: (tower: TowerName, index: number, part: 'w' | 'b'): string =>
    `updated_${tower}_${part}_${index}`,
  /** Per-neuron batch mean of |a · dLoss/da| of hidden layer `tower.index` (Taylor importance). */
  probe: (tower: TowerName, index: number): string => `probe_${tower}_${index}`,
};

/** Graph names of one layer's weights. */
interface LayerNodes {
  w: string;
  b: string;
}

/**
 * The strictly-lower triangle of the flattened Gram matrices [B, n·n], row by row: the blocks
 * [B, i] of rows i = 1 … n−1, whose concatenation is the pair list [B, P]. Why one SplitV and not
 * a GatherV2 of the P columns: the gather copies element by element, a 4-byte memcpy each, and
 * with its backward twin took ~10% of a batch-2048 step's CPU samples (perf: the gather kernel
 * plus its memcpys); the block copies take about two thirds of that.
 */
function lowerTriangleRows(ops: GraphOps, gramFlat: string, n: number): string[] {
  const sizes = [n];
  for (let i = 1; i < n; i++) sizes.push(i, n - i);
  return ops.splitColumns(gramFlat, sizes).filter((_, k) => k % 2 === 1);
}

/**
 * From the top MLP's input gradient [B, D + P]: its first D columns (the bottom output's share)
 * and L [B, n·n], the pair gradients placed in the strictly-lower triangle (zeros elsewhere) —
 * the inverse of lowerTriangleRows, by the same block copies: the zero blocks are cut from
 * n(n+1)/2 zero columns padded on. dLoss/dZ is then L·Z + Lᵀ·Z (each pair feeds both vectors).
 */
function pairGradientRows(
  ops: GraphOps,
  dTopIn: string,
  n: number,
  D: number,
): { dBottom: string; lower: string } {
  const rows = Array.from({ length: n - 1 }, (_, k) => k + 1);
  const zeroWidths = Array.from({ length: n }, (_, i) => n - i);
  const padded = ops.padColumns(dTopIn, (n * (n + 1)) / 2);
  const [dBottom, ...blocks] = ops.splitColumns(padded, [D, ...rows, ...zeroWidths]);
  const pairRows = blocks.slice(0, n - 1);
  const zeros = blocks.slice(n - 1);
  // Row i of L: its i pair gradients, then n − i zeros (row 0: zeros only).
  const lower = ops.concat(
    zeros.flatMap((zero, i) => (i === 0 ? [zero] : [pairRows[i - 1] as string, zero])),
    1,
  );
  return { dBottom: dBottom as string, lower };
}

/** Each layer's output, ReLU after every layer unless `linearLast` (the top's logit). */
function mlpForward(ops: GraphOps, layers: LayerNodes[], x: string, linearLast: boolean): string[] {
  const ys: string[] = [];
  let h = x;
  layers.forEach((layer, i) => {
    h = ops.op('BiasAdd', ops.matMul(h, layer.w), layer.b);
    if (!(linearLast && i === layers.length - 1)) h = ops.op('Relu', h);
    ys.push(h);
  });
  return ys;
}

/**
 * Backward through an MLP from dy = dLoss/d(last output). Adds, per weight, its gradient × grad
 * scale (`grad_…`) and weight − that (`updated_…`); per hidden layer its Taylor probe. Returns
 * dLoss/d(input), except for the bottom tower, whose input gradient is never needed.
 */
function mlpBackward(
  ops: GraphOps,
  tower: TowerName,
  layers: LayerNodes[],
  input: string,
  ys: string[],
  dy: string,
  gradScale: string,
  linearLast: boolean,
  halfSquares: string[],
): string {
  const names = stepGraphNames;
  let grad = dy;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as LayerNodes;
    const layerIn = i === 0 ? input : (ys[i - 1] as string);
    const dz =
      linearLast && i === layers.length - 1 ? grad : ops.op('ReluGrad', grad, ys[i] as string);
    const parts = { w: ops.matMul(layerIn, dz, true, false), b: ops.op('BiasAddGrad', dz) };
    for (const part of ['w', 'b'] as const) {
      halfSquares.push(ops.op('L2Loss', parts[part]));
      const scaled = ops.named('Mul', [parts[part], gradScale], names.grad(tower, i, part));
      ops.named('Sub', [layer[part], scaled], names.updated(tower, i, part));
    }
    if (i === 0 && tower === 'bottom') break;
    grad = ops.matMul(dz, layer.w, false, true);
    if (i > 0) {
      ops.meanOverBatch(ops.op('Abs', ops.op('Mul', layerIn, grad)), names.probe(tower, i - 1));
    }
  }
  return grad;
}

/** The GraphDef of the step for `spec`. */
export function buildStepGraph(spec: StepGraphSpec, producer: number): Uint8Array {
  const g = new GraphBuilder();
  const ops = createGraphOps(g);
  const names = stepGraphNames;
  const n = spec.numSparse + 1;
  const D = spec.dim;

  const dense = g.placeholder(names.dense, [-1, spec.numDense]);
  const slab = g.placeholder(names.slab, [-1, spec.numSparse, D]);
  const labels = g.placeholder(names.labels, [-1]);
  const gradScale = g.placeholder(names.gradScale, []);
  const weights = (tower: TowerName, count: number): LayerNodes[] =>
    Array.from({ length: count }, (_, i) => ({
      w: g.placeholder(names.weight(tower, i, 'w'), [-1, -1]),
      b: g.placeholder(names.weight(tower, i, 'b'), [-1]),
    }));
  const bottom = weights('bottom', spec.numBottomLayers);
  const top = weights('top', spec.numTopLayers);

  // Forward: bottom MLP; dot interaction, Z = [bottom; embeddings] [B, n, D], its Gram matrix's
  // strictly-lower triangle next to the bottom output; top MLP to the logit.
  const bottomYs = mlpForward(ops, bottom, dense, false);
  const bottomOut = bottomYs[bottomYs.length - 1] as string;
  const z = ops.concat([ops.expandDims(bottomOut, 1), slab], 1);
  const gramFlat = ops.reshape(ops.batchMatMul(z, z, true), [-1, n * n]);
  const interOut = ops.concat([bottomOut, ...lowerTriangleRows(ops, gramFlat, n)], 1);
  const topYs = mlpForward(ops, top, interOut, true);
  const logits = topYs[topYs.length - 1] as string;
  ops.named('Identity', [logits], names.logits);

  // BCE with logits in its stable form, max(x, 0) − x·y + log1p(exp(−|x|)); gradient (σ(x) − y)/B.
  const x = ops.reshape(logits, [-1]);
  const softplus = ops.op('Log1p', ops.op('Exp', ops.op('Neg', ops.op('Abs', x))));
  const terms = ops.op(
    'AddV2',
    ops.op('Sub', ops.op('Relu', x), ops.op('Mul', x, labels)),
    softplus,
  );
  ops.named('Identity', [ops.meanOverBatch(terms)], names.loss);
  const residual = ops.op('Sub', ops.op('Sigmoid', x), labels);
  const dLogits = ops.reshape(ops.op('RealDiv', residual, ops.sizeAsFloat(x)), [-1, 1]);

  // Backward. Interaction: dZ = L·Z + Lᵀ·Z, L [n, n] the pair gradients in the strictly-lower
  // triangle (pairGradientRows).
  const halfSquares: string[] = [];
  const dTopIn = mlpBackward(
    ops,
    'top',
    top,
    interOut,
    topYs,
    dLogits,
    gradScale,
    true,
    halfSquares,
  );
  const pieces = pairGradientRows(ops, dTopIn, n, D);
  const lower = ops.reshape(pieces.lower, [-1, n, n]);
  const dz = ops.op('AddV2', ops.batchMatMul(lower, z), ops.batchMatMul(lower, z, false, true));
  const dBottom = ops.op(
    'AddV2',
    ops.reshape(ops.slice(dz, [0, 0, 0], [-1, 1, -1]), [-1, D]),
    pieces.dBottom,
  );
  const slabGrad = ops.named('Identity', [ops.slice(dz, [0, 1, 0], [-1, -1, -1])], names.slabGrad);
  halfSquares.push(ops.op('L2Loss', slabGrad));
  mlpBackward(ops, 'bottom', bottom, dense, bottomYs, dBottom, gradScale, false, halfSquares);
  ops.addN(halfSquares, names.gradHalfSqNorm);
  return g.graphDef(producer);
}
