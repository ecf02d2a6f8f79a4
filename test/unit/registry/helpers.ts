import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestFieldsInput } from '../../../schemas/manifest';
import type { PublishSource } from '../../../src/registry/store';

/** A fresh registry root; `dispose` removes it. */
export async function tempRoot(): Promise<{ root: string; dispose: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'agp-registry-'));
  return { root, dispose: () => rm(root, { recursive: true, force: true }) };
}

/** Offline manifest fields with a recognisable metric. */
export function offlineFields(
  ne = 0.79,
  extra: Partial<ManifestFieldsInput> = {},
): ManifestFieldsInput {
  return {
    phase: 'offline',
    configHash: 'sha256:test',
    dataRange: { kind: 'offline', source: 'synthetic:capacity-bound', rows: 1000 },
    metrics: { ne, auc: 0.75, logloss: 0.45 },
    ...extra,
  };
}

/** Three small files, one in a subdirectory, with content derived from `tag`. */
export function smallFiles(tag: string): PublishSource {
  return {
    files: [
      {
        path: 'weights.bin',
        data: new Uint8Array(4096).map((_, i) => (i * 7 + tag.length) & 0xff),
      },
      { path: 'meta.json', data: JSON.stringify({ tag }) },
      { path: 'tables/t0.bin', data: `table-of-${tag}` },
    ],
  };
}

/** Names in a directory, [] if it does not exist. */
export async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
