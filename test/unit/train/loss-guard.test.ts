import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseTrainConfig } from '../../../schemas/train-config';
import { DataError } from '../../../src/errors';
import { createLossGuard, widestDenseInputs } from '../../../src/train/loss-guard';
import { runOfflineTraining } from '../../../src/train/offline';
import { trapLogCsv } from '../data/trap-log';

const dir = mkdtempSync(join(tmpdir(), 'agp-loss-guard-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ranges = { min: [0, -1, 0], max: [1e18, 2, 30], rows: 10 };

describe('the loss guard', () => {
  it('passes an ordinary run and stops a non-finite, a 100× or an absurd loss', () => {
    const ctx = { denseNames: ['row_id', 'x', 'price'], ranges: () => ranges };
    const ok = createLossGuard(ctx);
    for (let s = 1; s <= 200; s++) ok.check(s, 0.6, 0.6);
    assert.throws(
      () => createLossGuard(ctx).check(1, Number.NaN, Number.NaN),
      (e: Error) => {
        assert.ok(e instanceof DataError);
        assert.match(
          e.message,
          /^training loss exploded at step 1: the batch loss is NaN; likely cause: .*'row_id' \[0\.00, 1\.00e\+18\]/,
        );
        return true;
      },
    );
    const growing = createLossGuard(ctx);
    for (let s = 1; s <= 10; s++) growing.check(s, 0.1, 0.1);
    growing.check(11, 5, 5);
    assert.throws(() => growing.check(12, 20, 10.1), /over 100× its early value/);
    const absurd = createLossGuard(ctx);
    for (let s = 1; s <= 10; s++) absurd.check(s, 1e16, 1e16);
    assert.throws(() => absurd.check(11, 1e16, 1e16), /running loss is 1\.00e\+16 nats per row/);
  });

  it('orders dense inputs by the width of their range', () => {
    assert.deepEqual(widestDenseInputs(['a', 'b', 'c'], ranges, 2), [
      "'a' [0.00, 1.00e+18]",
      "'c' [0.00, 30.0]",
    ]);
  });

  it(
    'stops a run that reads a ~1e18 row id as a dense number, naming it',
    { timeout: 120_000 },
    async () => {
      const path = join(dir, 'traps.csv');
      writeFileSync(path, trapLogCsv({ rows: 1500 }));
      const config = parseTrainConfig({
        name: 'raw-id',
        data: {
          train: { kind: 'csv', path, limit: 1200 },
          test: { kind: 'csv', path, offset: 1200 },
          features: {
            label: 'click',
            dense: [
              { name: 'row_id', transform: 'none' },
              { name: 'price', transform: 'none' },
            ],
            sparse: [{ name: 'site', buckets: 64 }],
          },
        },
        model: { bottom: [16, 8], top: [16, 1], embeddingDim: 8, batchSize: 32 },
        agp: { schedule: 'dense' },
        evalPoints: 0,
        outDir: join(dir, 'run'),
      });
      await assert.rejects(runOfflineTraining(config, { backend: 'cpu' }), (e: Error) => {
        assert.ok(e instanceof DataError, String(e));
        assert.match(
          e.message,
          /^training loss exploded at step \d+: .*likely cause: .*'row_id' \[/,
        );
        return true;
      });
    },
  );
});
