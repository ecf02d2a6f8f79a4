import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../../schemas/model-config';
import type { ColumnarBatch } from '../../../src/data/batch';
import { initBackend, type BackendName } from '../../../src/model/backend';
import { createStepGuard } from '../../../src/model/step-guard';
import { createTrainer, type Trainer } from '../../../src/model/trainer';
import { assertClose, randomBatch, tinyConfig } from './helpers';

/** Every number the model holds: weights, optimizer slots, embedding rows and their state. */
function stateOf(trainer: Trainer): Float32Array[] {
  const towers = [...trainer.towers.bottom, ...trainer.towers.top];
  const slots = [...trainer.slots.bottom, ...trainer.slots.top];
  return [...towers.flatMap((l) => [l.w, l.b]), ...slots.flatMap((s) => [...s.w, ...s.b])]
    .map((t) => Float32Array.from(t.dataSync()))
    .concat(trainer.embeddings.tables.map((t) => Float32Array.from(t)))
    .concat((trainer.embeddings.accumulators ?? []).map((t) => Float32Array.from(t)));
}

function assertSameState(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((t, i) => assert.deepEqual(t, b[i], `${what}: tensor ${i} changed`));
}

/** The batch with every dense input replaced by f(x). */
function mapDense(batch: ColumnarBatch, f: (x: number) => number): ColumnarBatch {
  return { ...batch, dense: batch.dense.map(f) };
}

/** The step paths a trainer can take: backend × (on tensorflow) graph or eager step. */
const PATHS: Array<{ backend: BackendName; step?: 'graph' | 'eager' }> = [
  { backend: 'cpu' },
  { backend: 'wasm' },
  { backend: 'tensorflow', step: 'graph' },
  { backend: 'tensorflow', step: 'eager' },
];

describe('the numerical guard of a training step', () => {
  const savedBackend = process.env['AGP_BACKEND'];
  const savedStep = process.env['AGP_TF_STEP'];
  after(() => {
    for (const [k, v] of [
      ['AGP_BACKEND', savedBackend],
      ['AGP_TF_STEP', savedStep],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  /** Gradient norms of the same first step, per path, to hold the paths to one definition. */
  const firstNorms: Record<string, number> = {};

  for (const path of PATHS) {
    const name = path.step === undefined ? path.backend : `${path.backend} (${path.step} step)`;
    for (const optimizer of ['sgd', 'adam'] as const) {
      it(`${name}, ${optimizer}: skips a non-finite and an exploding batch, changing nothing`, async (t) => {
        delete process.env['AGP_BACKEND'];
        if (path.step === undefined) delete process.env['AGP_TF_STEP'];
        else process.env['AGP_TF_STEP'] = path.step;
        const available = await initBackend(path.backend).then(
          () => true,
          () => false,
        );
        if (!available) {
          t.skip('@tensorflow/tfjs-node is not installed');
          return;
        }
        const config: ModelConfig = tinyConfig({
          denseOptimizer: { kind: optimizer, lr: 0.05 },
          embeddingOptimizer: { kind: optimizer === 'adam' ? 'rowwise-adagrad' : 'sgd' },
        });
        const trainer = createTrainer(config);
        const guard = createStepGuard({ warmupSteps: 4, spikeFactor: 10 });
        for (let i = 0; i < 5; i++) {
          const r = trainer.step(randomBatch(config, 16, i), { guard });
          assert.equal(r.skipped, undefined, `ordinary step ${i}`);
          assert.ok(r.gradNorm !== undefined && r.gradNorm > 0, 'a gradient norm is reported');
          if (i === 0 && optimizer === 'sgd') firstNorms[name] = r.gradNorm;
        }
        const before = stateOf(trainer);
        const steps = trainer.stepCount;
        const tensors = tf.memory().numTensors;
        const batch = randomBatch(config, 16, 99);

        const nanLabel = {
          ...batch,
          labels: batch.labels.map((y, b) => (b === 3 ? Number.NaN : y)),
        };
        assert.equal(trainer.step(nanLabel, { guard }).skipped?.kind, 'non-finite loss');
        assertSameState(stateOf(trainer), before, 'after the NaN-label batch');

        // Relu(NaN) is 0 on some kernels and NaN on others: the loss may stay finite while the
        // first layer's gradient is NaN; either way the batch is skipped.
        const nan = trainer.step(
          mapDense(batch, (x) => (x > 1 ? Number.NaN : x)),
          { guard },
        );
        assert.match(nan.skipped?.kind ?? '', /^non-finite (loss|gradient)$/);
        assertSameState(stateOf(trainer), before, 'after the NaN-input batch');

        const huge = trainer.step(
          mapDense(batch, (x) => x * 1e4),
          { guard },
        );
        assert.equal(huge.skipped?.kind, 'gradient spike', JSON.stringify(huge.skipped));
        assertSameState(stateOf(trainer), before, 'after the exploding batch');
        assert.equal(trainer.stepCount, steps, 'skipped steps are not counted');
        assert.equal(tf.memory().numTensors, tensors, 'a skipped step frees its tensors');

        // The same batch, ordinary, is applied: the checks above could have failed.
        assert.equal(trainer.step(batch, { guard }).skipped, undefined);
        assert.notDeepEqual(stateOf(trainer), before);
        assert.equal(trainer.stepCount, steps + 1);
        trainer.dispose();
      });
    }
  }

  it('computes one gradient norm on every path', (t) => {
    const norms = Object.entries(firstNorms);
    const reference = firstNorms['cpu'];
    if (reference === undefined) return t.skip('the cpu path did not run');
    for (const [path, norm] of norms) assertClose([norm], [reference], 1e-5, 1e-3, path);
  });
});

describe('the guard alone', () => {
  it('judges spikes against the scale of applied steps only', () => {
    const guard = createStepGuard({ warmupSteps: 2, spikeFactor: 3, decay: 0.5 });
    assert.equal(guard.check(1, 100), undefined, 'warm-up: no spike judged');
    assert.equal(guard.check(1, 1), undefined);
    assert.equal(guard.scale, 50.5);
    assert.equal(guard.check(1, 160)?.kind, 'gradient spike');
    assert.equal(guard.scale, 50.5, 'a skipped norm does not move the scale');
    assert.equal(guard.check(1, 150), undefined);
    assert.equal(guard.scale, 100.25);
    assert.equal(guard.check(Number.NaN, 1)?.kind, 'non-finite loss');
    assert.equal(guard.check(1, Number.POSITIVE_INFINITY)?.kind, 'non-finite gradient');
    assert.throws(() => createStepGuard({ spikeFactor: 1 }), /spikeFactor/);
  });
});
