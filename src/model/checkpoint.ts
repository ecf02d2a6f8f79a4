import { mapConcurrent } from '../concurrent';
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { bottomInputWidth, ModelConfig, topInputWidth } from '../../schemas/model-config';
import { DataError, InfraError } from '../errors';
import { createEmbeddingStore } from './embedding-store';
import type { DenseTowers, LayerSlots, Mlp, TowerName, TowerSlots } from './params';
import { trainerFromState, type Trainer } from './trainer';

/** Format written by this code; loaders refuse other versions. See CHECKPOINT.md. */
export const CHECKPOINT_FORMAT_VERSION = 1;

const MANIFEST = 'manifest.json';
const DENSE_FILE = 'dense.bin';
const tableFile = (f: number): string => `embedding-${String(f).padStart(3, '0')}.bin`;

const TensorEntry = z.object({
  file: z.string(),
  dtype: z.literal('float32'),
  shape: z.array(z.number().int().nonnegative()),
  /** Byte offset of the tensor's data in `file`. */
  offset: z.number().int().nonnegative(),
  /** Hex sha256 of the tensor's bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const Manifest = z.object({
  format: z.literal('agp-checkpoint'),
  version: z.literal(CHECKPOINT_FORMAT_VERSION),
  createdAt: z.string(),
  stepCount: z.number().int().nonnegative(),
  config: ModelConfig,
  /** Hidden widths at save time, per tower (they may be smaller than the config's during AGP). */
  widths: z.object({ bottom: z.array(z.number().int()), top: z.array(z.number().int()) }),
  tensors: z.record(z.string(), TensorEntry),
  /** Caller-supplied state (AGP controller, data position, RNG, Kafka offsets): opaque here. */
  extra: z.unknown(),
});
type Manifest = z.infer<typeof Manifest>;

const TOWERS: readonly TowerName[] = ['bottom', 'top'];

/** A named float32 array to store. */
interface Blob {
  name: string;
  shape: number[];
  data: Float32Array;
}

function bytesOf(data: Float32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function towerBlobs(towers: DenseTowers, slots: TowerSlots): Blob[] {
  const blobs: Blob[] = [];
  const add = (name: string, t: tf.Tensor): void => {
    blobs.push({ name, shape: t.shape, data: t.dataSync() as Float32Array });
  };
  for (const tower of TOWERS) {
    towers[tower].forEach((layer, i) => {
      add(`${tower}.${i}.w`, layer.w);
      add(`${tower}.${i}.b`, layer.b);
      const s = slots[tower][i];
      s?.w.forEach((t, k) => add(`${tower}.${i}.w.slot${k}`, t));
      s?.b.forEach((t, k) => add(`${tower}.${i}.b.slot${k}`, t));
    });
  }
  return blobs;
}

/** Files written at once: bounds the extra copies of tables in memory (one per file). */
const WRITE_CONCURRENCY = 8;

/** Writes blobs into one file; returns their index entries. */
async function writeBlobs(dir: string, file: string, blobs: Blob[]): Promise<Manifest['tensors']> {
  const index: Manifest['tensors'] = {};
  let offset = 0;
  const parts = blobs.map((b) => {
    const bytes = bytesOf(b.data);
    index[b.name] = {
      file,
      dtype: 'float32',
      shape: b.shape,
      offset,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    offset += bytes.byteLength;
    return bytes;
  });
  await writeFile(join(dir, file), Buffer.concat(parts, offset));
  return index;
}

/**
 * Saves the trainer (dense weights and slots at their current widths, embedding rows and
 * Adagrad accumulators, step count, config) and the caller's `extra` JSON into `dir`. Writes a
 * sibling temporary directory and renames it into place, so `dir` never holds a partial
 * checkpoint; an existing `dir` is replaced.
 */
export async function saveCheckpoint(dir: string, trainer: Trainer, extra: unknown): Promise<void> {
  if (endianness() !== 'LE')
    throw new InfraError('checkpoints are little-endian; this host is not', { retriable: false });
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    const dense = await writeBlobs(tmp, DENSE_FILE, towerBlobs(trainer.towers, trainer.slots));
    const { embeddings } = trainer;
    // A few files at a time: written one after another, each file's open, write and close cost
    // a turn of an event loop that a recurring window's training keeps busy.
    const tables = await mapConcurrent(embeddings.tables, WRITE_CONCURRENCY, (table, f) => {
      const rows = embeddings.tableSizes[f] as number;
      const blobs: Blob[] = [
        { name: `embedding.${f}.rows`, shape: [rows, embeddings.dim], data: table },
      ];
      const acc = embeddings.accumulators?.[f];
      if (acc !== undefined)
        blobs.push({ name: `embedding.${f}.accumulator`, shape: [rows], data: acc });
      return writeBlobs(tmp, tableFile(f), blobs);
    });
    // Entries in file order whatever order the writes finished in: the manifest is the same bytes.
    const tensors: Manifest['tensors'] = Object.assign({}, dense, ...tables);
    const manifest: Manifest = {
      format: 'agp-checkpoint',
      version: CHECKPOINT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      stepCount: trainer.stepCount,
      config: trainer.config,
      widths: {
        bottom: trainer.towers.bottom.map((l) => l.w.shape[1]),
        top: trainer.towers.top.map((l) => l.w.shape[1]),
      },
      tensors,
      extra,
    };
    await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    const old = `${tmp}.old`;
    const replaced = await rename(dir, old).then(
      () => true,
      () => false,
    );
    await rename(tmp, dir);
    if (replaced) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** Reads tensors of a checkpoint, verifying each one's checksum and size. */
function createReader(dir: string, manifest: Manifest) {
  const files = new Map<string, Buffer>();
  return async (
    name: string,
    shape?: readonly number[],
  ): Promise<{ data: Float32Array; shape: number[] }> => {
    const entry = manifest.tensors[name];
    if (entry === undefined)
      throw new DataError(`${join(dir, MANIFEST)}: tensor '${name}' is missing`);
    if (shape !== undefined && entry.shape.join(',') !== shape.join(',')) {
      throw new DataError(
        `${join(dir, MANIFEST)}: tensor '${name}' has shape [${entry.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    }
    let file = files.get(entry.file);
    if (file === undefined) {
      file = await readFile(join(dir, entry.file)).catch((cause: unknown) => {
        throw new DataError(`${join(dir, entry.file)}: cannot read checkpoint file`, { cause });
      });
      files.set(entry.file, file);
    }
    const byteLength = entry.shape.reduce((a, b) => a * b, 1) * 4;
    if (entry.offset + byteLength > file.byteLength) {
      throw new DataError(
        `${join(dir, entry.file)}: tensor '${name}' runs past the end of the file`,
      );
    }
    const bytes = file.subarray(entry.offset, entry.offset + byteLength);
    if (createHash('sha256').update(bytes).digest('hex') !== entry.sha256) {
      throw new DataError(
        `${join(dir, entry.file)}: tensor '${name}' fails its sha256 check (corrupt checkpoint)`,
      );
    }
    // Copy into an aligned buffer that the store or tensor owns.
    const data = new Float32Array(byteLength / 4);
    new Uint8Array(data.buffer).set(bytes);
    return { data, shape: entry.shape };
  };
}

/**
 * Loads a checkpoint written by saveCheckpoint into a new trainer on the current tfjs backend,
 * with its tensors at the widths they had when saved (small, if saved mid-prune).
 * @throws DataError naming the file and tensor when the checkpoint is missing, corrupt or inconsistent.
 */
export async function loadCheckpoint(dir: string): Promise<{ trainer: Trainer; extra: unknown }> {
  const manifestPath = join(dir, MANIFEST);
  const text = await readFile(manifestPath, 'utf8').catch((cause: unknown) => {
    throw new DataError(`${manifestPath}: cannot read checkpoint manifest`, { cause });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DataError(`${manifestPath}: not valid JSON`, { cause });
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new DataError(
      `${manifestPath}: not an agp checkpoint of format ${CHECKPOINT_FORMAT_VERSION}: ${issues}`,
    );
  }
  const manifest = parsed.data;
  const { config } = manifest;
  const read = createReader(dir, manifest);
  const slotCount = { sgd: 0, momentum: 1, adam: 2 }[config.denseOptimizer.kind];

  const towers: DenseTowers = { bottom: [], top: [] };
  const slots: TowerSlots = { bottom: [], top: [] };
  const created: tf.Tensor[] = [];
  try {
    for (const tower of TOWERS) {
      let inWidth =
        tower === 'bottom'
          ? bottomInputWidth(config.numDense)
          : topInputWidth(config.tableSizes.length, config.embeddingDim);
      const widths = manifest.widths[tower];
      const mlp: Mlp = towers[tower];
      for (let i = 0; i < widths.length; i++) {
        const out = widths[i] as number;
        const w = await read(`${tower}.${i}.w`, [inWidth, out]);
        const b = await read(`${tower}.${i}.b`, [out]);
        const layer = { w: tf.tensor2d(w.data, [inWidth, out]), b: tf.tensor1d(b.data) };
        created.push(layer.w, layer.b);
        mlp.push(layer);
        const ls: LayerSlots = { w: [], b: [] };
        for (let k = 0; k < slotCount; k++) {
          const sw = tf.tensor2d((await read(`${tower}.${i}.w.slot${k}`, [inWidth, out])).data, [
            inWidth,
            out,
          ]);
          const sb = tf.tensor1d((await read(`${tower}.${i}.b.slot${k}`, [out])).data);
          created.push(sw, sb);
          ls.w.push(sw);
          ls.b.push(sb);
        }
        slots[tower].push(ls);
        inWidth = out;
      }
      const last = tower === 'bottom' ? config.embeddingDim : 1;
      if (inWidth !== last)
        throw new DataError(
          `${manifestPath}: the ${tower} MLP ends at width ${inWidth}, expected ${last}`,
        );
    }
    const tables: Float32Array[] = [];
    const accumulators: Float32Array[] = [];
    for (let f = 0; f < config.tableSizes.length; f++) {
      const rows = config.tableSizes[f] as number;
      tables.push((await read(`embedding.${f}.rows`, [rows, config.embeddingDim])).data);
      if (config.embeddingOptimizer.kind === 'rowwise-adagrad') {
        accumulators.push((await read(`embedding.${f}.accumulator`, [rows])).data);
      }
    }
    const embeddings = createEmbeddingStore({
      tableSizes: config.tableSizes,
      dim: config.embeddingDim,
      optimizer: config.embeddingOptimizer,
      tables,
      ...(config.embeddingOptimizer.kind === 'rowwise-adagrad' ? { accumulators } : {}),
    });
    const trainer = trainerFromState(config, {
      towers,
      slots,
      embeddings,
      stepCount: manifest.stepCount,
    });
    return { trainer, extra: manifest.extra };
  } catch (error) {
    tf.dispose(created);
    throw error;
  }
}
