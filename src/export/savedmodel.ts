import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../../schemas/manifest';
import type { FeatureSpec } from '../../schemas/feature-spec';
import { ConfigError } from '../errors';
import { loadCheckpoint } from '../model/checkpoint';
import type { Trainer } from '../model/trainer';
import { savedModelBytes } from '../model/tf-graph/graph-builder';
import { GRAPH_PRODUCER } from '../model/tf-graph/graph-session';
import { featureSpecOfManifest } from '../pipeline/feature-spec-of';
import type { RegistryStore, VersionRef } from '../registry/store';
import {
  buildInferenceGraph,
  SIGNATURE,
  type InferenceWeights,
  type LayerWeights,
} from './inference-graph';

/*
 * `agp registry export … --format savedmodel`: a registry version as a TensorFlow SavedModel
 * laid out the way TensorFlow Serving reads a model base path, DIR/<model>/<integer version>/
 * saved_model.pb. The weights are constants of the graph (no variables/ checkpoint to restore),
 * so the file is self-contained; protobuf caps it at 2 GiB, which bounds the embedding tables.
 */

/** The SavedModel tag TF Serving loads. */
export const SERVE_TAG = 'serve';

/** Protobuf's hard limit on one message, less room for the graph around the weights. */
const MAX_WEIGHT_BYTES = 1.9 * 1024 ** 3;

/** The weights of a live trainer as plain arrays (the graph's constants). */
export function inferenceWeights(trainer: Trainer): InferenceWeights {
  const layer = (l: {
    w: { shape: number[]; dataSync(): unknown };
    b: { dataSync(): unknown };
  }): LayerWeights => ({
    w: Float32Array.from(l.w.dataSync() as Float32Array),
    b: Float32Array.from(l.b.dataSync() as Float32Array),
    in: l.w.shape[0] as number,
    out: l.w.shape[1] as number,
  });
  return {
    bottom: trainer.towers.bottom.map(layer),
    top: trainer.towers.top.map(layer),
    tables: [...trainer.embeddings.tables],
    dim: trainer.embeddings.dim,
  };
}

/** The bytes of saved_model.pb for a model with this spec and these weights. */
export function savedModelOf(spec: FeatureSpec, weights: InferenceWeights): Uint8Array {
  const bytes =
    weights.tables.reduce((s, t) => s + t.byteLength, 0) +
    [...weights.bottom, ...weights.top].reduce((s, l) => s + l.w.byteLength + l.b.byteLength, 0);
  if (bytes > MAX_WEIGHT_BYTES) {
    throw new ConfigError(
      `the model's weights take ${(bytes / 1024 ** 3).toFixed(2)} GiB; a SavedModel with constant weights holds at most ~1.9 GiB (protobuf's 2 GiB limit): use smaller tables`,
    );
  }
  const { graph, signature } = buildInferenceGraph(spec, weights);
  return savedModelBytes(graph.graphDef(GRAPH_PRODUCER), [SERVE_TAG], {
    [SIGNATURE.key]: signature,
  });
}

/** TF Serving's version directory name: v000042 → 42. */
export function tfServingVersionNumber(version: string): number {
  const n = Number(version.replace(/^v/, ''));
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`version '${version}' has no integer number for TF Serving`);
  }
  return n;
}

/** What an export wrote. */
export interface ExportResult {
  version: string;
  /** DIR/<model>/<n>: the SavedModel directory. */
  dir: string;
  bytes: number;
}

/**
 * Writes the version as DIR/<model>/<n>/ (saved_model.pb, an empty variables/ and
 * assets.extra/agp-manifest.json with the version's manifest). The directory appears whole: it
 * is written under a temporary name and renamed, since TF Serving polls the base path and would
 * otherwise load a half-written version. An existing export of the same version is replaced.
 */
export async function exportSavedModel(
  registry: RegistryStore,
  model: string,
  version: VersionRef,
  outDir: string,
): Promise<ExportResult> {
  const { dir, manifest } = await registry.fetch(model, version);
  const spec = featureSpecOfManifest(manifest);
  const { trainer } = await loadCheckpoint(dir);
  let pb: Uint8Array;
  try {
    pb = savedModelOf(spec, inferenceWeights(trainer));
  } finally {
    trainer.dispose();
  }
  const base = path.join(outDir, model);
  const n = tfServingVersionNumber(manifest.version);
  const target = path.join(base, String(n));
  const temp = path.join(base, `.${n}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(path.join(temp, 'variables'), { recursive: true });
  await mkdir(path.join(temp, 'assets.extra'), { recursive: true });
  await writeFile(path.join(temp, 'saved_model.pb'), pb);
  await writeFile(
    path.join(temp, 'assets.extra', 'agp-manifest.json'),
    `${JSON.stringify(exportedManifest(manifest), null, 2)}\n`,
  );
  await rm(target, { recursive: true, force: true });
  await rename(temp, target);
  return { version: manifest.version, dir: target, bytes: pb.byteLength };
}

/** The manifest with what a client of the export needs to know about its inputs. */
function exportedManifest(manifest: Manifest): Record<string, unknown> {
  return {
    ...manifest,
    savedModel: {
      signature: SIGNATURE.key,
      inputs: {
        [SIGNATURE.dense]:
          'float32 [N, dense features], raw values in the spec order; 0 for missing',
        [SIGNATURE.sparse]:
          "string [N, categorical features], raw values as text in the spec order; '' for missing",
      },
      outputs: { [SIGNATURE.output]: 'float32 [N], click probability' },
    },
  };
}
