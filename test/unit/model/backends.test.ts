import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../../src/errors';
import { initBackend, type BackendName } from '../../../src/model/backend';
import { createTrainer } from '../../../src/model/trainer';
import { assertClose, randomBatch, tinyConfig } from './helpers';

/** Five training steps from the same seed; the losses and the final weights. */
async function run(backend: BackendName): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await initBackend(backend);
  const config = tinyConfig({
    denseOptimizer: { kind: 'adam', lr: 0.01 },
    embeddingOptimizer: { kind: 'rowwise-adagrad' },
  });
  const trainer = createTrainer(config);
  const losses = Array.from({ length: 5 }, (_, i) => trainer.step(randomBatch(config, 16, i)).loss);
  const weights = [
    ...[...trainer.towers.bottom, ...trainer.towers.top]
      .flatMap((l) => [l.w, l.b])
      .map((t) => Float32Array.from(t.dataSync())),
    ...trainer.embeddings.tables.map((t) => Float32Array.from(t)),
  ];
  trainer.dispose();
  return { losses, weights };
}

describe('the same results on every backend', () => {
  let reference: Awaited<ReturnType<typeof run>>;
  before(async () => {
    // This test chooses its backends itself.
    delete process.env['AGP_BACKEND'];
    reference = await run('cpu');
  });

  for (const backend of ['wasm', 'tensorflow'] as const) {
    it(`${backend} matches cpu within float tolerance`, async (t) => {
      const available = await initBackend(backend).then(
        () => true,
        () => false,
      );
      if (!available) {
        assert.equal(backend, 'tensorflow', 'wasm must always be available');
        t.skip('@tensorflow/tfjs-node is not installed');
        return;
      }
      const other = await run(backend);
      assertClose(other.losses, reference.losses, 1e-5, 1e-4, 'losses');
      other.weights.forEach((w, i) =>
        assertClose(w, reference.weights[i] as Float32Array, 1e-5, 1e-3, `tensor ${i}`),
      );
    });
  }
  it('AGP_BACKEND overrides the preferred backend; an unknown name is a ConfigError', async () => {
    process.env['AGP_BACKEND'] = 'cpu';
    try {
      assert.equal(await initBackend('wasm'), 'cpu');
      assert.equal(tf.getBackend(), 'cpu');
      process.env['AGP_BACKEND'] = 'gpu';
      await assert.rejects(
        initBackend(),
        (e: unknown) =>
          e instanceof ConfigError && /AGP_BACKEND: unknown backend 'gpu'/.test(e.message),
      );
    } finally {
      delete process.env['AGP_BACKEND'];
    }
  });
});
