import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AgpConfigInput } from '../../../schemas/agp-config';
import { parseTrainConfig } from '../../../schemas/train-config';
import { DataError } from '../../../src/errors';
import type { Trainer } from '../../../src/model/trainer';
import { runOfflineTraining } from '../../../src/train/offline';

/** `agp.regrownLr` through the real offline loop (src/agp/regrown-lr.ts, issue 22 item 5). */

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'agp-regrown-'));
  dirs.push(d);
  return d;
}

// 40 steps: warmup 4, pruned 26, grow at step 30, final 10.
const AGP: AgpConfigInput = {
  schedule: 'agp',
  growth: 'split',
  warmup: 0.1,
  prune: 0.65,
  finalDense: 0.25,
};

function config(outDir: string, agp: AgpConfigInput) {
  const data = (split: 'train' | 'test', rows: number) =>
    ({
      kind: 'synthetic',
      preset: 'capacity-bound',
      rows,
      seed: 3,
      split,
      numSparse: 4,
      numDense: 5,
    }) as const;
  return parseTrainConfig({
    name: 'tiny',
    data: { train: data('train', 1280), test: data('test', 512) },
    model: { bottom: [16, 8, 4], top: [16, 8, 1], embeddingDim: 4, batchSize: 32 },
    agp,
    evalPoints: 0,
    evalRows: 256,
    seed: 7,
    outDir,
  });
}

function weightsOf(trainer: Trainer): number[] {
  const out: number[] = [];
  for (const tower of [trainer.towers.bottom, trainer.towers.top]) {
    for (const layer of tower) out.push(...layer.w.dataSync(), ...layer.b.dataSync());
  }
  return out;
}

async function train(agp: AgpConfigInput) {
  const run = await runOfflineTraining(config(await tmp(), agp), { backend: 'cpu' });
  const w = weightsOf(run.trainer);
  run.trainer.dispose();
  return { weights: w, report: run.report };
}

const maxDiff = (a: number[], b: number[]) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

test('factor 1 is the plain run; a factor > 1 changes the weights and the run still ends full width', async () => {
  const plain = await train(AGP);
  const off = await train({ ...AGP, regrownLr: { factor: 1, steps: 6 } });
  assert.equal(maxDiff(off.weights, plain.weights), 0, 'factor 1 changes nothing');
  const boosted = await train({ ...AGP, regrownLr: { factor: 3, steps: 6 } });
  assert.ok(maxDiff(boosted.weights, plain.weights) > 1e-6, 'the boost moved the regrown weights');
  assert.deepEqual(boosted.report.finalWidths, plain.report.finalWidths);
  assert.ok(Number.isFinite(boosted.report.test.ne));
});

test('a run stopped inside the boost resumes it from the checkpoint', async () => {
  const agp = { ...AGP, regrownLr: { factor: 3, steps: 6 } };
  const straight = await train(agp);
  const stoppedDir = await tmp();
  const abort = new AbortController();
  await assert.rejects(
    runOfflineTraining(config(stoppedDir, agp), {
      backend: 'cpu',
      progressEvery: 1,
      onProgress: (p) => {
        if (p.step === 32) abort.abort();
      },
      signal: abort.signal,
    }),
    (error: unknown) =>
      error instanceof DataError && /stopped at step 32 of 40/.test(error.message),
  );
  const resumed = await runOfflineTraining(config(stoppedDir, agp), {
    backend: 'cpu',
    resumeFrom: join(stoppedDir, 'checkpoint'),
  });
  const diff = maxDiff(weightsOf(resumed.trainer), straight.weights);
  resumed.trainer.dispose();
  assert.ok(diff < 1e-5, `max weight difference ${diff}`);
});

test('a bad regrownLr names the field', () => {
  assert.throws(
    () => config('/tmp/x', { ...AGP, regrownLr: { factor: 0.5, steps: 6 } }),
    /agp\.regrownLr\.factor/,
  );
  assert.throws(
    () => config('/tmp/x', { ...AGP, regrownLr: { factor: 2, steps: 6, decay: 1 } as never }),
    /agp\.regrownLr.*decay|unknown field/,
  );
});
