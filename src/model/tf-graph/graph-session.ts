import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { savedModelBytes } from './graph-builder';

/*
 * A TensorFlow session over a GraphDef, run through tfjs-node's SavedModel support (the one
 * graph-execution entry point its binding exposes): the GraphDef is wrapped in a SavedModel
 * without variables, written to a temporary directory, loaded, and the directory removed.
 * Inputs and outputs are tfjs tensors of the `tensorflow` backend, tracked by tf.memory().
 */

/** The parts of tfjs-node's NodeJSKernelBackend a session uses. */
interface SavedModelBackend {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(
    id: number,
    inputs: tf.Tensor[],
    inputInfos: Array<{ name: string; tfDtype: string }>,
    outputNames: string[],
  ): tf.Tensor[];
  deleteSavedModel(id: number): void;
}

function savedModelBackend(): SavedModelBackend | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const b = tf.backend() as unknown as Partial<SavedModelBackend>;
  return typeof b.loadSavedModelMetaGraph === 'function' &&
    typeof b.runSavedModel === 'function' &&
    typeof b.deleteSavedModel === 'function'
    ? (b as SavedModelBackend)
    : undefined;
}

/** A loaded graph: feed tensors by placeholder name, fetch outputs by node name. */
export interface GraphSession {
  /** Runs the graph once. Every fed name must be a float32 placeholder; outputs are new tensors. */
  run(feeds: ReadonlyArray<readonly [string, tf.Tensor]>, fetches: readonly string[]): tf.Tensor[];
  dispose(): void;
}

/** The TensorFlow GraphDef version the graphs are written for (TensorFlow 2.9's). */
export const GRAPH_PRODUCER = 1087;

const TAG = 'serve';

/** Loads `graphDef` into a session; undefined when the backend is not tfjs-node. */
export function openGraphSession(graphDef: Uint8Array): GraphSession | undefined {
  const backend = savedModelBackend();
  if (backend === undefined) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-graph-'));
  let id: number;
  try {
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), savedModelBytes(graphDef, [TAG]));
    id = backend.loadSavedModelMetaGraph(dir, TAG);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  let open = true;
  return {
    run(feeds, fetches) {
      if (!open) throw new Error('GraphSession: run after dispose');
      return backend.runSavedModel(
        id,
        feeds.map(([, t]) => t),
        feeds.map(([name]) => ({ name: `${name}:0`, tfDtype: 'DT_FLOAT' })),
        fetches.map((name) => `${name}:0`),
      );
    },
    dispose() {
      if (open) backend.deleteSavedModel(id);
      open = false;
    },
  };
}
