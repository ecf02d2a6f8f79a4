import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FeatureSpec } from '../../../schemas/feature-spec';
import { parseTrainConfig } from '../../../schemas/train-config';
import { openSource } from '../../../src/data/open-source';
import { evaluateOn } from '../../../src/train/evaluate';
import { runOfflineTraining } from '../../../src/train/offline';
import { trapLogCsv } from '../data/trap-log';

const dir = mkdtempSync(join(tmpdir(), 'agp-early-stop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('validation split and early stopping', { timeout: 300_000 }, () => {
  it('keeps the best validation epoch, stops after `patience` worse ones, reports it', async () => {
    const path = join(dir, 'log.csv');
    writeFileSync(path, trapLogCsv({ rows: 2400, seed: 5 }));
    // Memorising a per-row id overfits within a few epochs: the validation NE turns up.
    const features = {
      label: 'click',
      dense: [{ name: 'price', transform: 'none' }],
      sparse: [
        { name: 'row_id', buckets: 4096 },
        { name: 'app', buckets: 1024 },
        { name: 'site', buckets: 64 },
      ],
    };
    const config = parseTrainConfig({
      name: 'early-stop',
      data: {
        train: { kind: 'csv', path, limit: 1200 },
        validation: { kind: 'csv', path, offset: 1200, limit: 600 },
        test: { kind: 'csv', path, offset: 1800 },
        features,
      },
      model: {
        bottom: [16, 8],
        top: [32, 1],
        embeddingDim: 8,
        batchSize: 32,
        embeddingOptimizer: { kind: 'rowwise-adagrad', lr: 0.3 },
        denseOptimizer: { kind: 'adam', lr: 0.01 },
      },
      agp: { schedule: 'dense' },
      lrSchedule: { decay: 0 },
      epochs: 12,
      patience: 2,
      evalPoints: 0,
      outDir: join(dir, 'run'),
    });
    const { report, trainer } = await runOfflineTraining(config, { backend: 'cpu' });
    try {
      const v = report.validation;
      assert.ok(v !== undefined);
      const nes = v.epochs.map((e) => e.ne as number);
      const best = nes.indexOf(Math.min(...nes)) + 1;
      assert.equal(v.bestEpoch, best, JSON.stringify(v));
      assert.ok(v.stoppedEarly, `no early stop over 12 epochs: ${JSON.stringify(nes)}`);
      assert.equal(
        v.epochs.length,
        best + 2,
        'stops after patience (2) epochs without a better NE',
      );
      assert.equal(report.rowsTrained, 1200 * v.epochs.length);
      // The model handed on is the best epoch's: its validation NE is the best one.
      const validation = openSource(
        { kind: 'csv', path, offset: 1200, limit: 600 },
        FeatureSpec.parse(features),
      );
      const kept = await evaluateOn(trainer, validation, {
        trainBaseRate: report.test.trainBaseRate as number,
      });
      assert.ok(
        Math.abs(kept.ne - (nes[best - 1] as number)) < 1e-5,
        `${kept.ne} vs ${nes[best - 1]}`,
      );
    } finally {
      trainer.dispose();
    }
  });
});
