import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseTrainConfig } from '../../../schemas/train-config';
import { sampleCsv } from '../../../src/data/file-sample';
import { inspectFile } from '../../../src/data/inspect';
import { bernoulliEntropy } from '../../../src/metrics/log-loss';
import { runOfflineTraining } from '../../../src/train/offline';
import { trapLogCsv } from '../data/trap-log';

const dir = mkdtempSync(join(tmpdir(), 'agp-inspect-train-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('inspect → suggested config → train', { timeout: 300_000 }, () => {
  it('trains a sane model on a log with planted traps, and reports the standard NE', async () => {
    const rows = 4000;
    const trainRows = 3200; // the suggested time split's 80%
    const text = trapLogCsv({ rows, seed: 11 });
    const path = join(dir, 'traps.csv');
    writeFileSync(path, text);
    const report = await inspectFile(path, { csv: sampleCsv });
    assert.deepEqual(report.split?.train, { offset: 0, limit: trainRows });
    const config = parseTrainConfig({
      name: 'inspect-traps',
      data: {
        train: { ...report.source, ...report.split?.train },
        validation: { ...report.source, ...report.split?.validation },
        test: { ...report.source, ...report.split?.test },
        features: report.features,
      },
      model: {
        bottom: [16, 8],
        top: [16, 1],
        embeddingDim: 8,
        batchSize: 64,
      },
      agp: { schedule: 'dense' },
      epochs: 2,
      evalPoints: 0,
      outDir: join(dir, 'run'),
    });
    const { report: trained, trainer } = await runOfflineTraining(config, { backend: 'cpu' });
    trainer.dispose();
    const t = trained.test;
    // A leak (conversion_time, revenue) would score AUC ≈ 1 and NE ≈ 0; the signal planted in
    // app, site and price gives a model clearly better than the base rate, and no better.
    assert.ok(t.auc > 0.6 && t.auc < 0.95, `AUC ${t.auc}`);
    assert.ok(t.ne < 0.99 && t.ne > 0.5, `NE ${t.ne}`);
    assert.equal(t.rows, 400, 'the newest 10% test');
    assert.ok(trained.validation !== undefined && trained.validation.bestEpoch !== null);

    // The standard NE divides by the entropy of the training rows' base rate.
    const labels = text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.slice(l.lastIndexOf(',') + 1)));
    const trainRate = labels.slice(0, trainRows).reduce((a, b) => a + b, 0) / trainRows;
    const testRate = labels.slice(3600).reduce((a, b) => a + b, 0) / (rows - 3600);
    assert.ok(t.trainBaseRate !== undefined && Math.abs(t.trainBaseRate - trainRate) < 1e-12);
    assert.ok(t.testBaseRate !== undefined && Math.abs(t.testBaseRate - testRate) < 1e-12);
    assert.ok(Math.abs(t.ne - t.logloss / bernoulliEntropy(trainRate)) < 1e-9);
    assert.ok(
      t.neTestRate !== undefined &&
        Math.abs(t.neTestRate - t.logloss / bernoulliEntropy(testRate)) < 1e-9,
    );
  });

  it('trains on the suggested time split (data.split): every trap left out, a sane model', async () => {
    const rows = 4000;
    const text = trapLogCsv({ rows, seed: 12 });
    const path = join(dir, 'traps-split.csv');
    writeFileSync(path, text);
    const report = await inspectFile(path, { csv: sampleCsv });
    assert.deepEqual(report.timeSplit, {
      by: 'event_time',
      test: 'last 10%',
      validation: 'last 10%',
    });
    const config = parseTrainConfig({
      name: 'inspect-traps-split',
      data: { train: report.source, split: report.timeSplit, features: report.features },
      model: { bottom: [16, 8], top: [16, 1], embeddingDim: 8, batchSize: 64 },
      agp: { schedule: 'dense' },
      epochs: 2,
      evalPoints: 0,
      outDir: join(dir, 'run-split'),
    });
    const { report: trained, trainer } = await runOfflineTraining(config, { backend: 'cpu' });
    trainer.dispose();
    const t = trained.test;
    assert.ok(t.auc > 0.6 && t.auc < 0.95, `AUC ${t.auc}`);
    assert.ok(Number.isFinite(t.ne) && t.ne < 0.99 && t.ne > 0.5, `NE ${t.ne}`);
    // Rows are one a minute: the newest 10% of the span is the newest ~10% of the rows.
    assert.ok(Math.abs(t.rows - 400) <= 2, `test rows ${t.rows}`);
    assert.ok(trained.validation !== undefined && trained.validation.bestEpoch !== null);
  });
});
