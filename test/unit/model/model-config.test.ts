import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ModelConfig,
  modelConfigForFeatures,
  parseModelConfig,
  REFERENCE_OPTIMIZERS,
  topInputWidth,
} from '../../../schemas/model-config';
import { criteoFeatureSpec } from '../../../schemas/feature-spec';
import { ConfigError } from '../../../src/errors';

describe('model config', () => {
  it('defaults to the DLRM reference Criteo Kaggle architecture with Adam + row-wise Adagrad', () => {
    const c = ModelConfig.parse({});
    assert.equal(c.numDense, 13);
    assert.equal(c.tableSizes.length, 26);
    assert.equal(c.embeddingDim, 16);
    assert.deepEqual(c.bottom, [512, 256, 64, 16]);
    assert.deepEqual(c.top, [512, 256, 1]);
    assert.deepEqual(c.denseOptimizer, {
      kind: 'adam',
      lr: 0.001,
      momentum: 0.9,
      betas: [0.9, 0.999],
      eps: 1e-8,
    });
    assert.deepEqual(c.embeddingOptimizer, { kind: 'rowwise-adagrad', lr: 0.05, eps: 1e-8 });
    assert.equal(c.batchSize, 128);
    assert.equal(topInputWidth(c.tableSizes.length, c.embeddingDim), 367);
  });

  it('keeps the reference optimizers by name, each kind with its own default lr', () => {
    const ref = ModelConfig.parse(REFERENCE_OPTIMIZERS);
    assert.equal(ref.denseOptimizer.kind, 'sgd');
    assert.equal(ref.denseOptimizer.lr, 0.1);
    assert.deepEqual(ref.embeddingOptimizer, { kind: 'sgd', lr: 0.1, eps: 1e-8 });
    const sgd = ModelConfig.parse({ denseOptimizer: { kind: 'sgd' } });
    assert.equal(sgd.denseOptimizer.lr, 0.1);
    const adam = ModelConfig.parse({ denseOptimizer: { kind: 'adam', lr: 0.01 } });
    assert.equal(adam.denseOptimizer.lr, 0.01);
  });

  it('builds all-categorical and all-dense models from a feature spec', () => {
    const cats = modelConfigForFeatures({
      label: 'y',
      dense: [],
      sparse: [{ name: 'u', buckets: 9 }],
    });
    assert.equal(cats.numDense, 0);
    assert.deepEqual(cats.bottom, [16], 'one layer: its input is a constant');
    const dense = modelConfigForFeatures({
      label: 'y',
      dense: [{ name: 'x', transform: 'none' }],
      sparse: [],
    });
    assert.deepEqual(dense.tableSizes, []);
    assert.equal(topInputWidth(0, dense.embeddingDim), 16);
  });

  it('takes the table sizes from a feature spec', () => {
    const c = modelConfigForFeatures(criteoFeatureSpec(1000), { embeddingDim: 8, bottom: [32, 8] });
    assert.deepEqual(
      c.tableSizes,
      Array.from({ length: 26 }, () => 1000),
    );
    assert.equal(c.embeddingDim, 8);
  });

  it('names the field when the bottom output differs from embeddingDim', () => {
    assert.throws(
      () => parseModelConfig({ embeddingDim: 8 }, 'train.json model'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes('invalid train.json model') &&
        /bottom: the bottom MLP's last width \(16\) must equal embeddingDim \(8\)/.test(e.message),
    );
  });

  it('rejects a top MLP that does not end in one logit, and bad optimizer values', () => {
    assert.throws(
      () => parseModelConfig({ top: [64, 2] }),
      /top: the top MLP's last width must be 1/,
    );
    assert.throws(
      () => parseModelConfig({ denseOptimizer: { kind: 'adagrad' } }),
      /denseOptimizer\.kind/,
    );
    assert.throws(() => parseModelConfig({ tableSizes: [10, 0] }), /tableSizes\.1/);
    assert.throws(() => parseModelConfig({ denseOptimizer: { lr: -1 } }), /denseOptimizer\.lr/);
  });
});
