import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ModelConfig,
  modelConfigForFeatures,
  parseModelConfig,
  topInputWidth,
} from '../../../schemas/model-config';
import { criteoFeatureSpec } from '../../../schemas/feature-spec';
import { ConfigError } from '../../../src/errors';

describe('model config', () => {
  it('defaults to the DLRM reference Criteo Kaggle config', () => {
    const c = ModelConfig.parse({});
    assert.equal(c.numDense, 13);
    assert.equal(c.tableSizes.length, 26);
    assert.equal(c.embeddingDim, 16);
    assert.deepEqual(c.bottom, [512, 256, 64, 16]);
    assert.deepEqual(c.top, [512, 256, 1]);
    assert.deepEqual(c.denseOptimizer, {
      kind: 'sgd',
      lr: 0.1,
      momentum: 0.9,
      betas: [0.9, 0.999],
      eps: 1e-8,
    });
    assert.equal(c.embeddingOptimizer.kind, 'sgd');
    assert.equal(c.batchSize, 128);
    assert.equal(topInputWidth(c.tableSizes.length, c.embeddingDim), 367);
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
