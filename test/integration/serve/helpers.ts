import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureSpec } from '../../../schemas/feature-spec';
import type { Manifest, ModelVersion } from '../../../schemas/manifest';
import { ModelConfig } from '../../../schemas/model-config';
import { saveCheckpoint } from '../../../src/model/checkpoint';
import { createTrainer } from '../../../src/model/trainer';
import type { RegistryStore } from '../../../src/registry/store';
import { spec } from '../../unit/stream/fixtures';

export { spec };

/** A small DLRM for the fixtures' spec (2 dense, tables of 100 and 10). */
export function modelConfig(seed: number, features: FeatureSpec = spec): ModelConfig {
  return ModelConfig.parse({
    numDense: features.dense.length,
    tableSizes: features.sparse.map((s) => s.buckets),
    embeddingDim: 4,
    bottom: [8, 4],
    top: [8, 1],
    batchSize: 8,
    seed,
  });
}

/**
 * Publishes a real checkpoint of a freshly initialised model (`seed` decides its weights, so
 * versions predict differently) as the child of `latest`, as the recurring phase would.
 */
export async function publishModel(
  store: RegistryStore,
  model: string,
  seed: number,
  opts: { newestEventMs?: number; parent?: ModelVersion | null } = {},
): Promise<Manifest> {
  const dir = await mkdtemp(join(tmpdir(), 'agp-serve-ckpt-'));
  const trainer = createTrainer(modelConfig(seed));
  try {
    await saveCheckpoint(join(dir, 'ckpt'), trainer, null);
  } finally {
    trainer.dispose();
  }
  try {
    const latest = await store.latest(model);
    const newest = opts.newestEventMs ?? Date.now();
    return await store.publish(
      model,
      { sourceDir: join(dir, 'ckpt') },
      {
        parent: opts.parent !== undefined ? opts.parent : latest,
        phase: latest === null ? 'offline' : 'recurring',
        configHash: `sha256:seed-${seed}`,
        dataRange:
          latest === null
            ? { kind: 'offline', source: 'test', rows: 0 }
            : {
                kind: 'recurring',
                fromOffsets: { t: { '0': '0' } },
                toOffsets: { t: { '0': String(seed) } },
                eventTime: { min: newest - 1000, max: newest },
              },
        metrics: { ne: 0.9 },
        config: { train: {}, features: spec },
      },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A feature record of the fixtures' spec; `i` varies it. */
export function instance(i: number): {
  dense: Record<string, number | null>;
  sparse: Record<string, string | number | null>;
} {
  return {
    dense: { d1: i % 50, d2: i % 2 === 0 ? null : -0.5 },
    sparse: { c1: `user-${i % 7}`, c2: i % 5 },
  };
}

/** Resolves once `predicate` holds, polling; rejects after `ms`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
