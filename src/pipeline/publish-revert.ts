import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  KafkaOffsets,
  Manifest,
  ModelVersion,
  RevertRecord,
  SkippedRange,
} from '../../schemas/manifest';
import type { RegistryStore } from '../registry/store';
import {
  HELD_BACK_SLICE_FILE,
  serializeHeldBack,
  type HeldBackEntry,
} from '../stream/held-back-slice';

/** Files a trained version carries that a revert must not inherit (they describe that training). */
const TRAINING_RECORDS = ['trained-ids.json', 'held-back-ids.json'];

/** What {@link publishRevert} publishes. */
export interface RevertRequest {
  model: string;
  /** The served version being reverted (`latest`, the revert's parent). */
  of: Manifest;
  /** The version whose weights come back. */
  restores: ModelVersion;
  reason: string;
  /** Where the consumed stream stands: the revert's (empty) data range starts and ends here. */
  offsets: KafkaOffsets;
  /** Held versions after `of` whose offsets the chain skips. */
  skipped: SkippedRange[];
  /** The lineage's head (compare-and-set). */
  expect: ModelVersion;
  /** The held-back slice to carry on (never trained by either version). */
  heldBack: readonly HeldBackEntry[];
  /** An empty staging directory of the caller's. */
  stagingDir: string;
}

/**
 * Publishes a revert: `restores`' files (weights, feature spec, dense ranges) as a new recurring
 * version, child of the reverted one, with an empty data range at the stream's position. The
 * chain stays append-only (no fork, no rewritten `latest` history, the registry's
 * compare-and-set as for any publish) while `latest` serves the better weights again; the
 * events the reverted version trained are left out, like a held version's.
 */
export async function publishRevert(
  registry: RegistryStore,
  request: RevertRequest,
): Promise<Manifest> {
  const restored = await registry.fetch(request.model, request.restores);
  try {
    await cp(restored.dir, request.stagingDir, { recursive: true });
    for (const file of TRAINING_RECORDS) {
      await rm(join(request.stagingDir, file), { force: true });
    }
    await writeFile(
      join(request.stagingDir, HELD_BACK_SLICE_FILE),
      serializeHeldBack(request.heldBack),
    );
    const revert: RevertRecord = {
      of: request.of.version,
      restores: request.restores,
      reason: request.reason,
    };
    return await registry.publish(
      request.model,
      { sourceDir: request.stagingDir },
      {
        parent: request.of.version,
        phase: 'recurring',
        configHash: restored.manifest.configHash,
        dataRange: {
          kind: 'recurring',
          fromOffsets: request.offsets,
          toOffsets: request.offsets,
          eventTime: null,
          events: 0,
        },
        // The restored weights' lr-schedule origin (src/train/recurring-lr.ts) comes with them.
        metrics:
          restored.manifest.metrics['handoverStep'] === undefined
            ? {}
            : { handoverStep: restored.manifest.metrics['handoverStep'] },
        ...(restored.manifest.widths === undefined ? {} : { widths: restored.manifest.widths }),
        ...(restored.manifest.backend === undefined ? {} : { backend: restored.manifest.backend }),
        config: restored.manifest.config,
        ...(request.skipped.length > 0 ? { skipped: request.skipped } : {}),
        revert,
      },
      { expect: request.expect },
    );
  } finally {
    await rm(request.stagingDir, { recursive: true, force: true });
  }
}
