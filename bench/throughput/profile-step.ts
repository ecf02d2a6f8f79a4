/**
 * Where one training step's time goes, on one backend:
 * `tsx bench/throughput/profile-step.ts <tensorflow|wasm> [batch=2048] [tableRows=100000]`.
 * Prints the wall time of a full `trainer.step`, of its JS-side parts measured alone (the
 * embedding gather into a tensor, the sparse update from the slab gradient), and tfjs' per-kernel
 * profile of the step (kernel count and time per kernel name, summed). On `tensorflow` the ops the
 * step calls on TensorFlow directly (BiasAdd, Relu, ReluGrad, BiasAddGrad: src/model/tf-native.ts)
 * bypass tfjs' kernel registry and so are not in that profile.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { parseModelConfig } from '../../schemas/model-config';
import type { ColumnarBatch } from '../../src/data/batch';
import { initBackend } from '../../src/model/backend';
import { createTrainer } from '../../src/model/trainer';
import { createRng } from '../../src/rng';
import { BOTTOM, EMBEDDING_DIM, LR, NUM_DENSE, NUM_TABLES, TOP } from './workload';

function medianMs(runs: number, f: () => void): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1] ?? NaN;
}

async function main(): Promise<void> {
  const [backend = 'tensorflow', batchArg = '2048', rowsArg = '100000'] = process.argv.slice(2);
  if (backend !== 'tensorflow' && backend !== 'wasm') throw new Error('backend: tensorflow | wasm');
  const [B, rows] = [Number(batchArg), Number(rowsArg)];
  process.env['TF_NUM_INTRAOP_THREADS'] = '2';
  process.env['TF_NUM_INTEROP_THREADS'] = '1';
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  await initBackend(backend);
  const rng = createRng(1);
  const trainer = createTrainer(
    parseModelConfig({
      numDense: NUM_DENSE,
      tableSizes: Array.from({ length: NUM_TABLES }, () => rows),
      embeddingDim: EMBEDDING_DIM,
      bottom: BOTTOM,
      top: TOP,
      denseOptimizer: { kind: 'sgd', lr: LR },
      embeddingOptimizer: { kind: 'sgd', lr: LR },
    }),
    { rng },
  );
  const batch: ColumnarBatch = {
    size: B,
    dense: new Float32Array(B * NUM_DENSE).map(() => rng.next()),
    sparse: new Int32Array(B * NUM_TABLES).map(() => Math.floor(rng.next() * rows)),
    labels: new Float32Array(B).map(() => (rng.next() < 0.25 ? 1 : 0)),
    numDense: NUM_DENSE,
    numSparse: NUM_TABLES,
  };
  for (let i = 0; i < 3; i++) trainer.step(batch);
  const stepMs = medianMs(7, () => trainer.step(batch));
  const gatherMs = medianMs(7, () => trainer.embeddings.gather(batch.sparse, B).dispose());
  const grad = new Float32Array(B * NUM_TABLES * EMBEDDING_DIM).fill(1e-6);
  const scatterMs = medianMs(7, () => trainer.embeddings.applyGradients(batch.sparse, grad));
  const profile = await tf.profile(() => {
    trainer.step(batch);
  });
  const byKernel = new Map<string, { n: number; ms: number }>();
  for (const k of profile.kernels) {
    const e = byKernel.get(k.name) ?? { n: 0, ms: 0 };
    e.n += 1;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, e);
  }
  const kernelMs = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  out(`backend ${tf.getBackend()}, batch ${B}, tables 26×${rows}`);
  out(
    `step (median of 7): ${stepMs.toFixed(1)} ms = ${((B / stepMs) * 1000).toFixed(0)} samples/s`,
  );
  out(`  embedding gather → tensor (JS): ${gatherMs.toFixed(1)} ms`);
  out(`  sparse SGD update from slab gradient (JS): ${scatterMs.toFixed(1)} ms`);
  out(`  ${profile.kernels.length} kernels, ${kernelMs.toFixed(1)} ms summed kernel time:`);
  const sorted = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, e] of sorted.slice(0, 15)) {
    out(`    ${name.padEnd(24)} ×${String(e.n).padStart(3)} ${e.ms.toFixed(1).padStart(8)} ms`);
  }
  trainer.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`profile-step: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
