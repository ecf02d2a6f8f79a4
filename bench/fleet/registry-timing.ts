import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ModelConfig, REFERENCE_OPTIMIZERS } from '../../schemas/model-config';
import { openPrivateS3Registry, type PrivateS3 } from '../../infra/private-s3';
import { initBackend } from '../../src/model/backend';
import { saveCheckpoint } from '../../src/model/checkpoint';
import { createTrainer } from '../../src/model/trainer';
import { openFsRegistry } from '../../src/registry';
import type { RegistryStore } from '../../src/registry/store';

/**
 * The reference model: the DLRM of bench/throughput (26 tables of 100,000 rows, dim 16,
 * bottom 13-512-256-64-16, top 367-512-256-1, SGD, so no optimizer slots in the checkpoint).
 */
export const REFERENCE_MODEL =
  'DLRM 26 × 100,000 × 16 tables, bottom 13-512-256-64-16, top 367-512-256-1, SGD (bench/throughput)';

/** Publish and fetch times of one store, medians over the repetitions. */
export interface RegistryTiming {
  store: 'fs' | 's3';
  publishSeconds: number;
  fetchSeconds: number;
  bytes: number;
  repetitions: number;
  publishSamples: number[];
  fetchSamples: number[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

const seconds = async (work: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await work();
  return (performance.now() - t) / 1000;
};

/**
 * Publishes the reference model's checkpoint `repetitions` times to each store (a new model
 * each time, so every publish is a first version, and the stores interleaved so that load from
 * other processes falls on both), and fetches each version once into an empty cache: the S3
 * store downloads and verifies it, the filesystem store verifies it in place.
 */
export async function timeRegistries(
  s3: PrivateS3,
  repetitions: number,
  workDir: string,
  log: (line: string) => void,
): Promise<RegistryTiming[]> {
  await initBackend();
  const checkpoint = path.join(workDir, 'reference-checkpoint');
  const trainer = createTrainer(ModelConfig.parse({ ...REFERENCE_OPTIMIZERS }));
  try {
    await saveCheckpoint(checkpoint, trainer, null);
  } finally {
    trainer.dispose();
  }
  const openS3 = (dataDir: string): Promise<RegistryStore> =>
    openPrivateS3Registry(s3, dataDir, 'registry-timing');
  const stores: Record<'fs' | 's3', RegistryStore> = {
    fs: await openFsRegistry({ root: path.join(workDir, 'fs-registry') }),
    s3: await openS3(path.join(workDir, 's3-publisher')),
  };
  const samples = {
    fs: { publish: [] as number[], fetch: [] as number[], bytes: 0 },
    s3: { publish: [] as number[], fetch: [] as number[], bytes: 0 },
  };
  try {
    for (let rep = 0; rep < repetitions; rep++) {
      const order = rep % 2 === 0 ? (['fs', 's3'] as const) : (['s3', 'fs'] as const);
      for (const store of order) {
        const model = `reference-${rep}`;
        let bytes = 0;
        const publish = await seconds(async () => {
          const m = await stores[store].publish(
            model,
            { sourceDir: checkpoint },
            {
              parent: null,
              phase: 'offline',
              configHash: 'sha256:bench-fleet-reference',
              dataRange: { kind: 'offline', source: 'none (initial weights)', rows: 0 },
              metrics: {},
            },
          );
          bytes = m.files.reduce((sum, f) => sum + f.bytes, 0);
        });
        const cache = await mkdtemp(path.join(workDir, `fetch-${store}-`));
        const reader = store === 'fs' ? stores.fs : await openS3(cache);
        const fetch = await seconds(() => reader.fetch(model, 'latest'));
        await rm(cache, { recursive: true, force: true });
        samples[store].publish.push(publish);
        samples[store].fetch.push(fetch);
        samples[store].bytes = bytes;
        log(
          `registry ${store} #${rep + 1}: publish ${publish.toFixed(2)} s, fetch ${fetch.toFixed(2)} s, ` +
            `${(bytes / 1e6).toFixed(1)} MB`,
        );
      }
    }
  } finally {
    await rm(checkpoint, { recursive: true, force: true });
  }
  const ms = (x: number): number => Number(x.toFixed(3));
  return (['fs', 's3'] as const).map((store) => ({
    store,
    publishSeconds: ms(median(samples[store].publish)),
    fetchSeconds: ms(median(samples[store].fetch)),
    bytes: samples[store].bytes,
    repetitions,
    publishSamples: samples[store].publish.map(ms),
    fetchSamples: samples[store].fetch.map(ms),
  }));
}
