/**
 * One agp engine measurement, run by run.ts in its own process (a tfjs backend cannot be swapped
 * cleanly inside one): `tsx bench/throughput/agp-engine.ts <tensorflow|wasm> '<Workload JSON>'`.
 * Builds the product's trainer on the requested backend and times full `step(batch)` calls
 * (forward, backward, dense SGD update, sparse embedding update) on synthetic batches made before
 * the clock starts. Prints one RESULT_PREFIX line with the measurements.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { parseModelConfig } from '../../schemas/model-config';
import type { ColumnarBatch } from '../../src/data/batch';
import { initBackend, type BackendName } from '../../src/model/backend';
import { createTrainer } from '../../src/model/trainer';
import { createRng, type Rng } from '../../src/rng';
import {
  BOTTOM,
  EMBEDDING_DIM,
  LR,
  NUM_DENSE,
  NUM_TABLES,
  RESULT_PREFIX,
  TOP,
  type Measurement,
  type Workload,
} from './workload';

/** Uniform random indices, dense values in [0, 1), labels with a ~25% click rate. */
function syntheticBatch(size: number, tableRows: number, rng: Rng): ColumnarBatch {
  const dense = new Float32Array(size * NUM_DENSE).map(() => rng.next());
  const sparse = new Int32Array(size * NUM_TABLES).map(() => Math.floor(rng.next() * tableRows));
  const labels = new Float32Array(size).map(() => (rng.next() < 0.25 ? 1 : 0));
  return { size, dense, sparse, labels, numDense: NUM_DENSE, numSparse: NUM_TABLES };
}

async function selectBackend(backend: BackendName, threads: number): Promise<void> {
  // TensorFlow's thread pools and oneDNN read these when the runtime starts.
  process.env['TF_NUM_INTRAOP_THREADS'] = String(threads);
  process.env['TF_NUM_INTEROP_THREADS'] = '1';
  process.env['OMP_NUM_THREADS'] = String(threads);
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount(threads);
  }
  const got = await initBackend(backend);
  if (got !== backend) throw new Error(`asked for backend ${backend}, got ${got}`);
}

async function main(): Promise<void> {
  const [backendArg, workloadJson] = process.argv.slice(2);
  if ((backendArg !== 'tensorflow' && backendArg !== 'wasm') || workloadJson === undefined) {
    throw new Error("usage: agp-engine.ts <tensorflow|wasm> '<workload json>'");
  }
  const w = JSON.parse(workloadJson) as Workload;
  await selectBackend(backendArg, w.threads);
  const rng = createRng(w.seed);
  const trainer = createTrainer(
    parseModelConfig({
      numDense: NUM_DENSE,
      tableSizes: Array.from({ length: NUM_TABLES }, () => w.tableRows),
      embeddingDim: EMBEDDING_DIM,
      bottom: BOTTOM,
      top: TOP,
      denseOptimizer: { kind: 'sgd', lr: LR },
      embeddingOptimizer: { kind: 'sgd', lr: LR },
      seed: w.seed,
    }),
    { rng },
  );
  const results: Measurement[] = [];
  for (const size of w.batches) {
    const batches = Array.from({ length: w.distinctBatches }, () =>
      syntheticBatch(size, w.tableRows, rng),
    );
    const next = (k: number): ColumnarBatch => batches[k % batches.length] as ColumnarBatch;
    for (let k = 0; k < w.warmupSteps; k++) trainer.step(next(k));
    const tensorsBefore = tf.memory().numTensors;
    const stepMs: number[] = [];
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    while (stepMs.length < w.minSteps || performance.now() - start < w.minSeconds * 1000) {
      const t0 = performance.now();
      trainer.step(next(stepMs.length));
      stepMs.push(performance.now() - t0);
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    if (tf.memory().numTensors !== tensorsBefore) {
      throw new Error(`the trainer leaked ${tf.memory().numTensors - tensorsBefore} tensors`);
    }
    results.push({
      batch: size,
      steps: stepMs.length,
      seconds,
      samplesPerSecond: (stepMs.length * size) / seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      stepMs,
    });
  }
  trainer.dispose();
  process.stdout.write(
    `${RESULT_PREFIX}${JSON.stringify({ backend: tf.getBackend(), results })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `agp-engine: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
