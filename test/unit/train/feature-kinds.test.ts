import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { z } from 'zod';
import type { FeatureSpec } from '../../../schemas/feature-spec';

type FeatureSpecInput = z.input<typeof FeatureSpec>;
import { parseTrainConfig } from '../../../schemas/train-config';
import { openSource } from '../../../src/data/open-source';
import { loadCheckpoint } from '../../../src/model/checkpoint';
import { categoricalRows, denseRows } from './generated-logs';
import { runOfflineTraining } from '../../../src/train/offline';

/*
 * All-categorical and all-dense feature specs train end to end from a TSV file (the model
 * without a bottom-MLP input, the model without embedding tables), learn from data that has
 * signal, survive AGP's prune and grow, and round-trip their checkpoint.
 */

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function trainOn(lines: string[], features: FeatureSpecInput, model: object = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'agp-kinds-'));
  dirs.push(dir);
  const path = join(dir, 'rows.tsv');
  await writeFile(path, lines.join('\n') + '\n');
  const train = lines.length - 3000;
  const config = parseTrainConfig({
    data: {
      train: { kind: 'criteo-tsv', path, limit: train },
      test: { kind: 'criteo-tsv', path, offset: train },
      features,
    },
    model,
    agp: { schedule: 'agp' },
    evalPoints: 0,
    outDir: join(dir, 'run'),
  });
  const result = await runOfflineTraining(config);
  return { ...result, config };
}

async function assertCheckpointRoundTrips(
  result: Awaited<ReturnType<typeof trainOn>>,
): Promise<void> {
  const source = openSource(result.config.data.test!, result.config.data.features as never);
  let batch;
  for await (const b of source.batches({ batchSize: 256 })) {
    batch = b;
    break;
  }
  assert.ok(batch);
  const before = result.trainer.predict(batch);
  const loaded = await loadCheckpoint(result.checkpointDir);
  const after = loaded.trainer.predict(batch);
  for (let k = 0; k < before.length; k++) {
    assert.ok(Math.abs((before[k] as number) - (after[k] as number)) < 1e-6, `row ${k}`);
  }
  loaded.trainer.dispose();
  result.trainer.dispose();
}

describe('feature specs without one kind of feature', { timeout: 120_000 }, () => {
  it('an all-categorical spec learns, prunes and grows, and round-trips its checkpoint', async () => {
    const result = await trainOn(categoricalRows(15_000, 1), {
      dense: [],
      sparse: [
        { name: 'user', buckets: 1000 },
        { name: 'item', buckets: 1000 },
        { name: 'site', buckets: 50 },
      ],
    });
    const r = result.report;
    assert.ok(r.test.ne < 0.9, `test NE ${r.test.ne}`);
    assert.deepEqual(result.trainer.config.bottom, [16], 'one bottom layer by default');
    assert.ok((r.phases.find((p) => p.phase === 'pruned')?.steps ?? 0) > 0, 'AGP pruned');
    assert.deepEqual(r.finalWidths, r.fullWidths, 'ends grown');
    await assertCheckpointRoundTrips(result);
  });

  it('an all-dense spec learns and round-trips its checkpoint', async () => {
    const result = await trainOn(
      denseRows(15_000, 2),
      { dense: ['a', 'b', 'c', 'd'].map((name) => ({ name, transform: 'none' })), sparse: [] },
      { bottom: [32, 16] },
    );
    assert.ok(result.report.test.ne < 0.9, `test NE ${result.report.test.ne}`);
    assert.equal(result.trainer.embeddings.tableSizes.length, 0);
    await assertCheckpointRoundTrips(result);
  });
});
