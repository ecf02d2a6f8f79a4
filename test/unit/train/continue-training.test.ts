import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { modelConfigForFeatures } from '../../../schemas/model-config';
import { parseTrainConfig } from '../../../schemas/train-config';
import { evaluateBinary } from '../../../src/metrics/evaluate';
import { initBackend } from '../../../src/model/backend';
import { createTrainer, type Trainer } from '../../../src/model/trainer';
import { continueTraining } from '../../../src/train/continue-training';
import { openTrainingData } from '../../../src/train/open-data';

const synthetic = {
  kind: 'synthetic',
  preset: 'capacity-bound',
  seed: 5,
  numSparse: 3,
  numDense: 4,
};
const data = openTrainingData(
  parseTrainConfig({
    data: {
      train: { ...synthetic, rows: 640 },
      test: { ...synthetic, rows: 128, split: 'test' },
    },
  }),
);
const model = modelConfigForFeatures(data.spec, {
  bottom: [8, 4],
  top: [8, 1],
  embeddingDim: 4,
  batchSize: 32,
});

function weightsOf(trainer: Trainer): number[] {
  return [...trainer.towers.bottom, ...trainer.towers.top].flatMap((l) => [...l.w.dataSync()]);
}

describe('continueTraining', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('scores each batch before training on it, from startRow on, at the configured lr', async () => {
    const continued = createTrainer(model);
    const manual = createTrainer(model);
    const result = await continueTraining(continued, data.train, { batchSize: 32, startRow: 256 });

    const preds: number[] = [];
    const labels: number[] = [];
    for await (const batch of data.train.batches({ batchSize: 32, startRow: 256 })) {
      preds.push(...manual.predict(batch));
      labels.push(...batch.labels);
      manual.step(batch);
    }
    assert.equal(result.count, 640 - 256);
    assert.deepEqual(result, evaluateBinary(preds, labels));
    assert.deepEqual(weightsOf(continued), weightsOf(manual));
    const untrained = createTrainer(model);
    assert.notDeepEqual(weightsOf(continued), weightsOf(untrained));
    for (const t of [continued, manual, untrained]) t.dispose();
  });
});
