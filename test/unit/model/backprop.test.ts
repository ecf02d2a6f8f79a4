import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { initBackend, type BackendName } from '../../../src/model/backend';
import { createBackprop, type Backprop } from '../../../src/model/backprop';
import { createGraphBackprop } from '../../../src/model/graph-backprop';
import { dlrmForward } from '../../../src/model/dlrm';
import { initTowers } from '../../../src/model/init';
import { bceWithLogits } from '../../../src/model/loss';
import type { DenseTowers, Mlp } from '../../../src/model/params';
import { createRng } from '../../../src/rng';
import { assertClose, randomDenseAndSlab, tinyConfig, useBackendOrSkip } from './helpers';

const B = 6;
const config = tinyConfig();
const F = config.tableSizes.length;
const D = config.embeddingDim;

function rebuild(towers: DenseTowers, xs: tf.Tensor[]): DenseTowers {
  let k = 0;
  const take = (m: Mlp): Mlp =>
    m.map(() => ({ w: xs[k++] as tf.Tensor2D, b: xs[k++] as tf.Tensor1D }));
  return { bottom: take(towers.bottom), top: take(towers.top) };
}

/**
 * The hand-written backward against tfjs autodiff of dlrmForward + bceWithLogits (itself checked
 * against stock ops and central differences in forward.test.ts), on one backend.
 */
async function check(
  backend: BackendName,
  gradScale: number,
  make: () => Backprop = createBackprop,
): Promise<void> {
  await initBackend(backend);
  const backprop = make();
  tf.tidy(() => {
    const rng = createRng(21);
    const towers = initTowers(config, rng);
    const { dense, slab } = randomDenseAndSlab(rng, { B, numDense: 3, F, D });
    const labels = Float32Array.from({ length: B }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const labelTensor = tf.tensor2d(labels, [B, 1]);
    const params = [...towers.bottom, ...towers.top].flatMap((l) => [l.w, l.b]);
    const ref = tf.valueAndGrads((...a: tf.Tensor[]) =>
      bceWithLogits(
        dlrmForward(rebuild(towers, a), dense, a[a.length - 1] as tf.Tensor3D),
        labelTensor,
      ),
    )([...params, slab]);
    const ours = backprop.run(towers, { dense, slab, labels }, { gradScale, probe: false });
    assertClose([ours.loss], ref.value.dataSync(), 1e-6, 1e-5, `${backend} loss`);
    const grads = [...ours.grads.bottom, ...ours.grads.top].flatMap((l) => [l.w, l.b]);
    grads.forEach((g, i) => {
      const expected = (ref.grads[i] as tf.Tensor).dataSync().map((v) => v * gradScale);
      assertClose(g.dataSync(), expected, 1e-6, 1e-4, `${backend} grad ${i}`);
    });
    const slabRef = (ref.grads[params.length] as tf.Tensor).dataSync();
    assertClose(ours.slabGrad, slabRef, 1e-6, 1e-4, `${backend} slab grad`);
    assertClose(
      backprop.forward(towers, dense, slab).dataSync(),
      dlrmForward(towers, dense, slab).dataSync(),
      1e-6,
      1e-5,
      `${backend} logits`,
    );
  });
  backprop.dispose();
}

describe('hand-written DLRM backward', () => {
  after(async () => {
    await initBackend('cpu');
  });

  it('matches autodiff on cpu: loss, weight gradients, slab gradient and logits', async () => {
    await check('cpu', 1);
  });

  it('scales the weight gradients by gradScale and leaves the slab gradient unscaled', async () => {
    await check('cpu', 0.1);
  });

  it('matches autodiff on wasm (JS interaction path)', async () => {
    await check('wasm', 0.1);
  });

  it('matches autodiff on tensorflow (native-op path)', async (t) => {
    if (!(await useBackendOrSkip(t))) return;
    await check('tensorflow', 0.1);
  });

  describe("as one TensorFlow graph (the tensorflow backend's default step)", () => {
    const graph = (): Backprop => {
      const b = createGraphBackprop({
        numDense: config.numDense,
        numBottomLayers: config.bottom.length,
        numTopLayers: config.top.length,
        numSparse: F,
        dim: D,
      });
      if (b === undefined) throw new Error('no graph step on the tensorflow backend');
      return b;
    };

    it('matches autodiff: loss, scaled weight gradients, slab gradient and logits', async (t) => {
      if (await useBackendOrSkip(t)) await check('tensorflow', 0.1, graph);
    });

    it('serves pruned widths with the same graph; its SGD step and Taylor probes match the eager step', async (t) => {
      if (!(await useBackendOrSkip(t))) return;
      const eager = createBackprop();
      const fused = graph();
      const before = tf.memory().numTensors;
      for (const widths of [config, { ...config, bottom: [5, 3, 4], top: [6, 2, 1] }]) {
        tf.tidy(() => {
          const rng = createRng(5);
          const towers = initTowers({ ...config, ...widths }, rng);
          const { dense, slab } = randomDenseAndSlab(rng, { B, numDense: 3, F, D });
          const labels = Float32Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 1 : 0));
          const batch = { dense, slab, labels };
          const ref = eager.run(towers, batch, { gradScale: 0.05, probe: true });
          const ours = fused.sgdStep?.(towers, batch, { lr: 0.05, probe: true });
          if (ours === undefined) throw new Error('the graph step has no fused SGD step');
          assertClose([ours.loss], [ref.loss], 1e-6, 1e-5, 'loss');
          assertClose(ours.slabGrad, ref.slabGrad, 1e-6, 1e-4, 'slab grad');
          for (const tower of ['bottom', 'top'] as const) {
            towers[tower].forEach((layer, i) => {
              const g = ref.grads[tower][i];
              const u = ours.updated[tower][i];
              if (g === undefined || u === undefined) throw new Error(`no layer ${tower}.${i}`);
              assert.deepEqual(u.w.shape, layer.w.shape);
              assertClose(
                u.w.dataSync(),
                tf.sub(layer.w, g.w).dataSync(),
                1e-6,
                1e-4,
                `${tower}.${i} w`,
              );
              assertClose(
                u.b.dataSync(),
                tf.sub(layer.b, g.b).dataSync(),
                1e-6,
                1e-4,
                `${tower}.${i} b`,
              );
            });
          }
          const stats = ours.activationStats ?? {};
          assert.deepEqual(
            Object.keys(stats).sort(),
            Object.keys(ref.activationStats ?? {}).sort(),
          );
          for (const [key, value] of Object.entries(ref.activationStats ?? {})) {
            assertClose(stats[key] ?? new Float32Array(0), value, 1e-7, 1e-4, `probe ${key}`);
          }
        });
      }
      eager.dispose();
      fused.dispose();
      assert.equal(tf.memory().numTensors, before, 'the graph step leaks no tensors');
    });
  });
});
