import { initBackend, type BackendName } from '../../../src/model/backend';
import { createTrainer } from '../../../src/model/trainer';
import { ModelConfig } from '../../../schemas/model-config';
import { createRng } from '../../../src/rng';
async function main() {
  await initBackend(process.argv[2] as BackendName);
  const small = process.argv[3] === 'small';
  const B = Number(process.argv[4] ?? 128);
  const cfg = ModelConfig.parse({ tableSizes: Array(26).fill(10000), ...(small ? { bottom: [64, 32, 16], top: [64, 32, 1] } : {}) });
  const t = createTrainer(cfg);
  const rng = createRng(3);
  const data = Array.from({ length: 8 }, () => ({ size: B, numDense: 13, numSparse: 26,
    dense: Float32Array.from({ length: B * 13 }, () => rng.next()),
    sparse: Int32Array.from({ length: B * 26 }, () => rng.int(10000)),
    labels: Float32Array.from({ length: B }, () => (rng.next() < 0.3 ? 1 : 0)) }));
  for (let i = 0; i < 3; i++) t.step(data[i]!);
  const rounds: number[] = [];
  const per = Number(process.argv[5] ?? 10);
  for (let r = 0; r < 5; r++) { const t0 = performance.now(); for (let i = 0; i < per; i++) t.step(data[i % 8]!); rounds.push((performance.now() - t0) / per); }
  const med = rounds.sort((a, b) => a - b)[2]!;
  console.log(process.argv.slice(2).join(' '), 'ms/step', med.toFixed(1), 'samples/s', (B * 1000 / med).toFixed(0));
}
main();
