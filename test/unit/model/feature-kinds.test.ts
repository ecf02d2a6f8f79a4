import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ModelConfig } from '../../../schemas/model-config';
import { initBackend, type BackendName } from '../../../src/model/backend';
import { createTrainer } from '../../../src/model/trainer';

/*
 * A model without dense features (its bottom MLP reads one constant input) and one without
 * categorical features (no tables: the bottom output alone feeds the top MLP) train on every
 * backend, the tensorflow graph step and the JS/tensor paths giving the same losses.
 */

const LAYOUTS = [
  { numDense: 0, numSparse: 3 },
  { numDense: 4, numSparse: 0 },
  { numDense: 0, numSparse: 1 },
] as const;

async function lossesOn(backend: BackendName): Promise<number[][] | undefined> {
  try {
    await initBackend(backend);
  } catch {
    return undefined;
  }
  return LAYOUTS.map(({ numDense, numSparse }) => {
    const config = ModelConfig.parse({
      numDense,
      tableSizes: Array.from({ length: numSparse }, () => 7),
      embeddingDim: 4,
      bottom: [8, 4],
      top: [8, 1],
      denseOptimizer: { kind: 'adam', lr: 0.01 },
    });
    const trainer = createTrainer(config);
    const B = 6;
    const batch = {
      size: B,
      numDense,
      numSparse,
      dense: Float32Array.from({ length: B * numDense }, (_, i) => (i % 5) / 5),
      sparse: Int32Array.from({ length: B * numSparse }, (_, i) => i % 7),
      labels: Float32Array.from([1, 0, 1, 0, 1, 1]),
    };
    const before = tf.memory().numTensors;
    const losses = [0, 1, 2].map((k) => trainer.step(batch, { probeActivations: k === 0 }).loss);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    losses.push(trainer.predict(batch)[0] as number);
    trainer.dispose();
    assert.ok(losses[2]! < losses[0]!, `loss falls on ${backend}: ${losses.join(', ')}`);
    return losses;
  });
}

describe('models with no dense or no categorical features', () => {
  it('train on every backend with the same numbers', async () => {
    const cpu = await lossesOn('cpu');
    assert.ok(cpu);
    for (const backend of ['wasm', 'tensorflow'] as const) {
      const other = await lossesOn(backend);
      if (other === undefined) continue;
      other.forEach((losses, i) =>
        losses.forEach((l, k) =>
          assert.ok(Math.abs(l - (cpu[i]![k] as number)) < 1e-4, `${backend} layout ${i} #${k}`),
        ),
      );
    }
  });
});
