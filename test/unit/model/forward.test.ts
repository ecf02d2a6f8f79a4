import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { initBackend } from '../../../src/model/backend';
import { dlrmForward } from '../../../src/model/dlrm';
import { interactionArch } from '../../../src/model/interaction-arch';
import { interactionJs } from '../../../src/model/interaction-js';
import { interactionTensor } from '../../../src/model/interaction-tensor';
import { bceWithLogits } from '../../../src/model/loss';
import { initTowers } from '../../../src/model/init';
import type { DenseTowers, Mlp } from '../../../src/model/params';
import { createRng } from '../../../src/rng';
import { topInputWidth } from '../../../schemas/model-config';
import { assertClose, randomDenseAndSlab, tinyConfig } from './helpers';

const B = 5;
const config = tinyConfig();
const F = config.tableSizes.length;
const D = config.embeddingDim;

/** The same model written with stock tfjs ops and stock autodiff, as the reference. */
function referenceForward(towers: DenseTowers, dense: tf.Tensor2D, slab: tf.Tensor3D): tf.Tensor2D {
  const mlp = (layers: Mlp, x: tf.Tensor2D, linearLast: boolean): tf.Tensor2D =>
    layers.reduce<tf.Tensor2D>((h, l, i) => {
      const z: tf.Tensor2D = tf.add(tf.matMul(h, l.w), l.b);
      return linearLast && i === layers.length - 1 ? z : tf.relu(z);
    }, x);
  const bottomOut = mlp(towers.bottom, dense, false);
  const n = F + 1;
  const z = tf.concat([tf.reshape(bottomOut, [B, 1, D]), slab], 1);
  const gram: tf.Tensor2D = tf.reshape(tf.matMul(z, z, false, true), [B, n * n]);
  // Strictly-lower triangle through a 0/1 selection matrix (row-major i > j order).
  const select = new Float32Array(n * n * ((n * (n - 1)) / 2));
  let k = 0;
  const P = (n * (n - 1)) / 2;
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) select[(i * n + j) * P + k++] = 1;
  const pairs = tf.matMul(gram, tf.tensor2d(select, [n * n, P]));
  return mlp(towers.top, tf.concat([bottomOut, pairs], 1) as tf.Tensor2D, true);
}

function inputs(seed: number) {
  const rng = createRng(seed);
  const { dense, slab } = randomDenseAndSlab(rng, { B, numDense: 3, F, D });
  const labels = tf.tensor2d(
    Float32Array.from({ length: B }, (_, i) => i % 2),
    [B, 1],
  );
  return { dense, slab, labels };
}

function params(towers: DenseTowers): tf.Tensor[] {
  return [...towers.bottom, ...towers.top].flatMap((l) => [l.w, l.b]);
}

function rebuild(towers: DenseTowers, xs: tf.Tensor[]): DenseTowers {
  let k = 0;
  const take = (m: Mlp): Mlp =>
    m.map(() => ({ w: xs[k++] as tf.Tensor2D, b: xs[k++] as tf.Tensor1D }));
  return { bottom: take(towers.bottom), top: take(towers.top) };
}

describe('DLRM forward and gradients', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('gives logits [B, 1] and a top input of width D + (F+1)F/2', () => {
    tf.tidy(() => {
      const towers = initTowers(config, createRng(1));
      const { dense, slab } = inputs(2);
      assert.deepEqual(interactionArch(tf.ones([B, D]), slab).shape, [B, topInputWidth(F, D)]);
      assert.equal(topInputWidth(26, 16), 367);
      assert.deepEqual(dlrmForward(towers, dense, slab).shape, [B, 1]);
    });
  });

  it('interaction output is the bottom vector then the lower-triangle dot products', () => {
    tf.tidy(() => {
      const bottom = tf.tensor2d([[1, 2]]);
      const slab = tf.tensor3d([
        [
          [3, 4],
          [5, 6],
        ],
      ]);
      // vectors v0=(1,2) v1=(3,4) v2=(5,6): pairs (1,0)=11, (2,0)=17, (2,1)=39
      assertClose(interactionArch(bottom, slab).dataSync(), [1, 2, 11, 17, 39]);
    });
  });

  it('matches stock tfjs autodiff: loss and gradients of every weight and of the slab', () => {
    tf.tidy(() => {
      const towers = initTowers(config, createRng(3));
      const { dense, slab, labels } = inputs(4);
      const xs = [...params(towers), slab];
      const ours = tf.valueAndGrads((...a: tf.Tensor[]) =>
        bceWithLogits(
          dlrmForward(rebuild(towers, a), dense, a[a.length - 1] as tf.Tensor3D),
          labels,
        ),
      )(xs);
      const ref = tf.valueAndGrads((...a: tf.Tensor[]) =>
        tf.losses.sigmoidCrossEntropy(
          labels,
          referenceForward(rebuild(towers, a), dense, a[a.length - 1] as tf.Tensor3D),
        ),
      )(xs);
      assertClose(ours.value.dataSync(), ref.value.dataSync(), 1e-6, 1e-5, 'loss');
      ours.grads.forEach((g, i) =>
        assertClose(g.dataSync(), (ref.grads[i] as tf.Tensor).dataSync(), 1e-6, 1e-4, `grad ${i}`),
      );
    });
  });

  for (const [name, impl] of [
    ['JS', interactionJs],
    ['tensor', interactionTensor],
  ] as const) {
    it(`the ${name} interaction matches stock ops in value and in both gradients`, () => {
      tf.tidy(() => {
        const { slab } = inputs(8);
        const bottom = tf.randomNormal([B, D], 0, 1, 'float32', 9) as tf.Tensor2D;
        const weights = tf.randomNormal([B, topInputWidth(F, D)], 0, 1, 'float32', 10);
        const n = F + 1;
        const P = (n * (n - 1)) / 2;
        const select = new Float32Array(n * n * P);
        let k = 0;
        for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) select[(i * n + j) * P + k++] = 1;
        const stock = (b: tf.Tensor2D, s: tf.Tensor3D): tf.Tensor2D => {
          const z = tf.concat([tf.reshape(b, [B, 1, D]), s], 1);
          const gram: tf.Tensor2D = tf.reshape(tf.matMul(z, z, false, true), [B, n * n]);
          return tf.concat([b, tf.matMul(gram, tf.tensor2d(select, [n * n, P]))], 1) as tf.Tensor2D;
        };
        const run = (f: typeof stock) =>
          tf.valueAndGrads((b: tf.Tensor, s: tf.Tensor) =>
            tf.sum(tf.mul(f(b as tf.Tensor2D, s as tf.Tensor3D), weights)),
          )([bottom, slab]);
        const ours = run(impl);
        const ref = run(stock);
        assertClose(ours.value.dataSync(), ref.value.dataSync(), 1e-4, 1e-5, 'value');
        assertClose(
          impl(bottom, slab).dataSync(),
          stock(bottom, slab).dataSync(),
          1e-5,
          1e-5,
          'output',
        );
        ours.grads.forEach((g, i) =>
          assertClose(
            g.dataSync(),
            (ref.grads[i] as tf.Tensor).dataSync(),
            1e-5,
            1e-4,
            `grad ${i}`,
          ),
        );
      });
    });
  }

  it('passes a central-difference check on weights and on the embedding slab', () => {
    tf.tidy(() => {
      const towers = initTowers(config, createRng(5));
      const { dense, slab, labels } = inputs(6);
      const xs = [...params(towers), slab];
      const lossOf = (...a: tf.Tensor[]): tf.Scalar =>
        bceWithLogits(
          dlrmForward(rebuild(towers, a), dense, a[a.length - 1] as tf.Tensor3D),
          labels,
        );
      const { grads } = tf.valueAndGrads(lossOf)(xs);
      const eps = 1e-2;
      // (tensor index, element) pairs: bottom.0.w, bottom.2.b, top.0.w, top.2.w and the slab.
      const probes: Array<[number, number]> = [
        [0, 4],
        [5, 1],
        [6, 11],
        [10, 2],
        [12, 0],
        [12, 17],
        [12, 55],
      ];
      for (const [t, e] of probes) {
        const flat = Float32Array.from((xs[t] as tf.Tensor).dataSync());
        const at = (delta: number): number => {
          const copy = Float32Array.from(flat);
          copy[e] = (copy[e] as number) + delta;
          const moved = xs.map((x, i) => (i === t ? tf.tensor(copy, x.shape) : x));
          return lossOf(...moved).dataSync()[0] as number;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        const analytic = (grads[t] as tf.Tensor).dataSync()[e] as number;
        assertClose([analytic], [numeric], 2e-3, 2e-2, `tensor ${t} element ${e}`);
      }
    });
  });
});
