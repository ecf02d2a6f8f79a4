import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors';
import type {
  Backprop,
  BackpropBatch,
  BackpropResult,
  PassOptions,
  SgdStepResult,
} from './backprop';
import { hiddenLayerName, type DenseTowers, type Mlp, type TowerName } from './params';
import {
  buildStepGraph,
  stepGraphNames as N,
  type StepGraphSpec,
} from './tf-graph/dlrm-step-graph';
import { GRAPH_PRODUCER, openGraphSession, type GraphSession } from './tf-graph/graph-session';

/*
 * The training step on the `tensorflow` backend as one TensorFlow session run of the graph in
 * tf-graph/dlrm-step-graph.ts. Why: eager, the step is ~75 op calls with a fixed cost of
 * 50–190 µs each, so a model pruned to 0.47× the multiply-adds still took 0.85× the time per
 * step; as one graph the fixed cost is paid once (and TensorFlow fuses MatMul + BiasAdd + Relu).
 * Measured in the AGP benchmark's training loop (report.json `phases`, batch 128, 2 cores): a
 * dense step 5.4–5.9 ms instead of 8.6 ms eager, a step pruned at ratio 0.35 3.9–4.0 ms.
 * `npm run bench:step` compares graph and eager on random batches.
 */

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

/** Which step implementation runs on `tensorflow`: `graph` (default) or `eager` (`AGP_TF_STEP`). */
export function tensorflowStepMode(): 'graph' | 'eager' {
  const mode = process.env['AGP_TF_STEP'];
  if (mode === undefined || mode === '' || mode === 'graph') return 'graph';
  if (mode === 'eager') return 'eager';
  throw new ConfigError(`AGP_TF_STEP: unknown step mode '${mode}' (use graph or eager)`);
}

function weightFeeds(towers: DenseTowers): Array<[string, tf.Tensor]> {
  return TOWERS.flatMap((t) =>
    towers[t].flatMap((l, i): Array<[string, tf.Tensor]> => [
      [N.weight(t, i, 'w'), l.w],
      [N.weight(t, i, 'b'), l.b],
    ]),
  );
}

function perWeight(towers: DenseTowers, name: typeof N.grad): string[] {
  return TOWERS.flatMap((t) => towers[t].flatMap((_, i) => [name(t, i, 'w'), name(t, i, 'b')]));
}

function probeNames(towers: DenseTowers): Array<{ key: string; node: string }> {
  return TOWERS.flatMap((tower) =>
    towers[tower].slice(0, -1).map((_, index) => ({
      key: hiddenLayerName({ tower, index }),
      node: N.probe(tower, index),
    })),
  );
}

/** Tensors fetched per weight, back in the towers' shape. */
function asTowers(towers: DenseTowers, flat: tf.Tensor[]): DenseTowers {
  let k = 0;
  const take = (mlp: Mlp): Mlp =>
    mlp.map(() => ({ w: flat[k++] as tf.Tensor2D, b: flat[k++] as tf.Tensor1D }));
  return { bottom: take(towers.bottom), top: take(towers.top) };
}

/**
 * The graph-backed Backprop for a model of this layout, or undefined when the active backend is
 * not `tensorflow` or AGP_TF_STEP=eager. Disposing it closes the session.
 */
export function createGraphBackprop(spec: StepGraphSpec): Backprop | undefined {
  if (tensorflowStepMode() !== 'graph') return undefined;
  const opened = openGraphSession(buildStepGraph(spec, GRAPH_PRODUCER));
  if (opened === undefined) return undefined;
  const session: GraphSession = opened;

  /**
   * One session run with the batch and weights fed; the fetches are loss, slab grad, the weight
   * outputs, the probes and (with `gradNorm`) the gradient's half squared norm.
   */
  function runStep(
    towers: DenseTowers,
    batch: BackpropBatch,
    gradScale: number,
    weightOutputs: string[],
    opts: PassOptions,
  ): {
    loss: number;
    slabGrad: Float32Array;
    weights: tf.Tensor[];
    activationStats?: Record<string, Float32Array>;
    gradNorm?: number;
    logits?: Float32Array;
  } {
    const probe = opts.probe;
    const withNorm = opts.gradNorm === true;
    const withLogits = opts.logits === true;
    const probes = probe ? probeNames(towers) : [];
    const labels = tf.tensor1d(batch.labels);
    const scale = tf.scalar(gradScale);
    let out: tf.Tensor[];
    try {
      out = session.run(
        [
          [N.dense, batch.dense],
          [N.slab, batch.slab],
          [N.labels, labels],
          [N.gradScale, scale],
          ...weightFeeds(towers),
        ],
        [
          N.loss,
          N.slabGrad,
          ...weightOutputs,
          ...probes.map((p) => p.node),
          ...(withNorm ? [N.gradHalfSqNorm] : []),
          ...(withLogits ? [N.logits] : []),
        ],
      );
    } finally {
      tf.dispose([labels, scale]);
    }
    const [lossT, slabT] = out;
    const loss = (lossT as tf.Tensor).dataSync()[0] as number;
    const slabGrad = (slabT as tf.Tensor).dataSync() as Float32Array;
    const weights = out.slice(2, 2 + weightOutputs.length);
    const probeOut = out.slice(2 + weightOutputs.length, 2 + weightOutputs.length + probes.length);
    const extra = 2 + weightOutputs.length + probes.length;
    const normOut = withNorm ? (out[extra] as tf.Tensor) : undefined;
    const logitsOut = withLogits ? (out[extra + (withNorm ? 1 : 0)] as tf.Tensor) : undefined;
    const logits = logitsOut === undefined ? undefined : (logitsOut.dataSync() as Float32Array);
    const stats = Object.fromEntries(
      probes.map((p, i) => [p.key, (probeOut[i] as tf.Tensor).dataSync() as Float32Array]),
    );
    const gradNorm =
      normOut === undefined ? undefined : Math.sqrt(2 * (normOut.dataSync()[0] as number));
    tf.dispose([
      lossT as tf.Tensor,
      slabT as tf.Tensor,
      ...probeOut,
      ...(normOut ? [normOut] : []),
      ...(logitsOut ? [logitsOut] : []),
    ]);
    return {
      loss,
      slabGrad,
      weights,
      ...(probe ? { activationStats: stats } : {}),
      ...(gradNorm === undefined ? {} : { gradNorm }),
      ...(logits === undefined ? {} : { logits }),
    };
  }

  return {
    run(towers, batch, opts): BackpropResult {
      const { weights, ...r } = runStep(
        towers,
        batch,
        opts.gradScale,
        perWeight(towers, N.grad),
        opts,
      );
      return { ...r, grads: asTowers(towers, weights) };
    },
    sgdStep(towers, batch, opts): SgdStepResult {
      const { weights, ...r } = runStep(towers, batch, opts.lr, perWeight(towers, N.updated), opts);
      return { ...r, updated: asTowers(towers, weights) };
    },
    forward(towers, dense, slab) {
      const [logits] = session.run(
        [[N.dense, dense], [N.slab, slab], ...weightFeeds(towers)],
        [N.logits],
      );
      return logits as tf.Tensor2D;
    },
    dispose() {
      session.dispose();
    },
  };
}
