/**
 * This machine's FP32 GEMM roofline as TensorFlow reaches it: `tsx bench/throughput/gemm-peak.ts
 * <threads>` times TensorFlow's own MatMul (tfjs-node, the kernels the trainer's graph step runs)
 * on [2048, 512] × [512, 512], the bottom MLP's widest layer at batch 2048, with `threads`
 * intra-op threads, and prints the best of several timed bursts as a RESULT_PREFIX line
 * `{gflops}` (2 FLOPs per multiply-add). The best, not the median: a peak is what the hardware
 * can do, and any load on the machine only lowers it.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/model/backend';
import { RESULT_PREFIX } from './workload';

const M = 2048;
const K = 512;
const N = 512;

async function main(): Promise<void> {
  const threads = Number(process.argv[2] ?? '2');
  process.env['TF_NUM_INTRAOP_THREADS'] = String(threads);
  process.env['TF_NUM_INTEROP_THREADS'] = '1';
  process.env['OMP_NUM_THREADS'] = String(threads);
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  if ((await initBackend('tensorflow')) !== 'tensorflow') throw new Error('no tensorflow backend');
  const a = tf.randomUniform([M, K]);
  const b = tf.randomUniform([K, N]);
  const burst = (iters: number): number => {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) {
      const c = tf.matMul(a, b);
      // dataSync waits for the kernel: without it the loop would time dispatch only.
      c.dataSync();
      c.dispose();
    }
    return (performance.now() - t0) / 1000;
  };
  burst(5);
  let best = 0;
  for (let rep = 0; rep < 7; rep++) {
    const iters = 20;
    const seconds = burst(iters);
    best = Math.max(best, (2 * M * K * N * iters) / seconds / 1e9);
  }
  process.stdout.write(
    `${RESULT_PREFIX}${JSON.stringify({ gflops: best, shape: [M, K, N], threads })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`gemm-peak: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
