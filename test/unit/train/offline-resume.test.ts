import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseTrainConfig, type TrainConfigInput } from '../../../schemas/train-config';
import { DataError } from '../../../src/errors';
import type { Trainer } from '../../../src/model/trainer';
import { runOfflineTraining } from '../../../src/train/offline';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'agp-offline-'));
  dirs.push(d);
  return d;
}

function config(outDir: string, overrides: Partial<TrainConfigInput> = {}) {
  return parseTrainConfig({
    name: 'tiny',
    data: {
      train: {
        kind: 'synthetic',
        preset: 'capacity-bound',
        rows: 1280,
        seed: 3,
        numSparse: 4,
        numDense: 5,
      },
      test: {
        kind: 'synthetic',
        preset: 'capacity-bound',
        rows: 512,
        seed: 3,
        split: 'test',
        numSparse: 4,
        numDense: 5,
      },
    },
    model: { bottom: [16, 8, 4], top: [16, 8, 1], embeddingDim: 4, batchSize: 32 },
    // 40 steps: warmup 4, pruned 26, final 10 — the stop at step 15 falls inside the pruned phase.
    agp: { schedule: 'agp', growth: 'split', warmup: 0.1, prune: 0.65, finalDense: 0.25 },
    evalPoints: 2,
    evalRows: 256,
    seed: 7,
    outDir,
    ...overrides,
  });
}

function weightsOf(trainer: Trainer): number[] {
  const out: number[] = [];
  for (const tower of [trainer.towers.bottom, trainer.towers.top]) {
    for (const layer of tower) out.push(...layer.w.dataSync(), ...layer.b.dataSync());
  }
  return out;
}

test('a run stopped mid-prune and resumed from its checkpoint ends with the same weights as an uninterrupted run', async () => {
  const straight = await runOfflineTraining(config(await tmp()), { backend: 'cpu' });
  const expected = weightsOf(straight.trainer);
  assert.deepEqual(straight.report.finalWidths, {
    'bottom.0': 16,
    'bottom.1': 8,
    'top.0': 16,
    'top.1': 8,
  });
  straight.trainer.dispose();

  const stoppedDir = await tmp();
  const abort = new AbortController();
  await assert.rejects(
    runOfflineTraining(config(stoppedDir), {
      backend: 'cpu',
      progressEvery: 1,
      onProgress: (p) => {
        if (p.step === 15) abort.abort();
      },
      signal: abort.signal,
    }),
    (error: unknown) =>
      error instanceof DataError && /stopped at step 15 of 40/.test(error.message),
  );
  const resumed = await runOfflineTraining(config(stoppedDir), {
    backend: 'cpu',
    resumeFrom: join(stoppedDir, 'checkpoint'),
  });
  const actual = weightsOf(resumed.trainer);
  assert.equal(actual.length, expected.length);
  const maxDiff = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - (expected[i] as number))), 0);
  assert.ok(maxDiff < 1e-5, `max weight difference ${maxDiff}`);
  assert.equal(resumed.report.steps, 40);
  assert.ok(
    Math.abs(resumed.report.trainFlops - straight.report.trainFlops) < 1,
    'FLOP accounting resumes too',
  );
  resumed.trainer.dispose();
});

test('the run writes a JSON report and an HTML report with its charts', async () => {
  const dir = await tmp();
  const { report, trainer } = await runOfflineTraining(
    config(dir, { agp: { schedule: 'dense' } }),
    { backend: 'cpu' },
  );
  trainer.dispose();
  const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { schedule: string };
  assert.equal(json.schedule, 'dense');
  assert.ok(report.flopSaving === 0);
  assert.ok(report.bayes !== null && report.bayes.auc > 0.5);
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  for (const title of [
    'Training loss',
    'Width of each hidden layer',
    'Cumulative training FLOPs',
  ]) {
    assert.ok(html.includes(title), `report.html lacks "${title}"`);
  }
  assert.ok(html.includes('<polyline'));
});

test('small-dense trains at constant reduced widths and prune-only ends small', async () => {
  const small = await runOfflineTraining(
    config(await tmp(), { agp: { schedule: 'small-dense' } }),
    { backend: 'cpu' },
  );
  small.trainer.dispose();
  assert.ok((small.report.finalWidths['bottom.0'] ?? 99) < 16);
  assert.ok(small.report.flopSaving > 0.2);
  const po = await runOfflineTraining(
    config(await tmp(), { agp: { schedule: 'prune-only', ratio: 0.5 } }),
    { backend: 'cpu' },
  );
  po.trainer.dispose();
  assert.equal(po.report.finalWidths['bottom.0'], 8);
});

test('a run so short that the prune falls on step 0 still prunes, grows and ends full-width', async () => {
  const base = config(await tmp());
  const short = { ...base, data: { ...base.data, train: { ...base.data.train, rows: 96 } } };
  const { report, trainer } = await runOfflineTraining(parseTrainConfig(short), { backend: 'cpu' });
  trainer.dispose();
  assert.equal(report.steps, 3);
  assert.ok(report.flopSaving > 0, 'the pruned step must cost less');
  assert.deepEqual(report.finalWidths, { 'bottom.0': 16, 'bottom.1': 8, 'top.0': 16, 'top.1': 8 });
});

test('the same AGP run trains on the wasm backend through prune and grow', async () => {
  const { report, trainer } = await runOfflineTraining(config(await tmp()), { backend: 'wasm' });
  trainer.dispose();
  assert.equal(report.backend, 'wasm');
  assert.equal(report.steps, 40);
  assert.deepEqual(report.finalWidths, { 'bottom.0': 16, 'bottom.1': 8, 'top.0': 16, 'top.1': 8 });
  assert.ok(Number.isFinite(report.test.logloss));
});
