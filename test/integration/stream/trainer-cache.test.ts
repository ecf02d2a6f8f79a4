import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { ModelVersion } from '../../../schemas/manifest';
import { parseInfraConfig } from '../../../src/config/env';
import { initBackend } from '../../../src/model/backend';
import type { Trainer } from '../../../src/model/trainer';
import { loadTrainerFromVersion } from '../../../src/pipeline/model-version';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { runRecurringWindow } from '../../../src/pipeline/recurring-window';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { TrainerCache } from '../../../src/pipeline/trainer-cache';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { createKafka } from '../../../src/stream/kafka-client';
import { replay, type RawRow } from '../../../src/stream/replay';
import { tinyTrainConfig } from '../../tiny-train-config';

/** Every float a checkpoint stores: dense weights and slots, embeddings and accumulators. */
function state(trainer: Trainer): Float32Array[] {
  const towers = [...trainer.towers.bottom, ...trainer.towers.top];
  const slots = [...trainer.slots.bottom, ...trainer.slots.top];
  return [
    ...towers.flatMap((l) => [l.w, l.b]).map((t) => Float32Array.from(t.dataSync())),
    ...slots.flatMap((s) => [...s.w, ...s.b]).map((t) => Float32Array.from(t.dataSync())),
    ...trainer.embeddings.tables,
    ...(trainer.embeddings.accumulators ?? []),
  ];
}

/**
 * A worker keeps the trainer of a window that ended cleanly for the model's next window
 * (src/pipeline/trainer-cache.ts). What makes that safe: the kept trainer is bit for bit the
 * version it was kept as, and the next window continues the chain exactly (no gap, no overlap).
 */
describe(
  'trainer kept between recurring windows (real model, real Kafka)',
  { timeout: 300_000 },
  () => {
    const model = `keep-${randomUUID().slice(0, 8)}`;
    const topic = `test-keep-${randomUUID()}`;
    const perVersion = 400;
    let dir: string;
    let registry: FsRegistryStore;
    let kafka: Kafka;
    let producer: Producer;
    const { rows } = syntheticEventRows({
      preset: 'capacity-bound',
      seed: 5,
      teacherSeed: 1,
      rows: 4 * perVersion,
    });
    const all = [...rows] as RawRow[];

    before(async () => {
      await initBackend();
      dir = await mkdtemp(join(tmpdir(), 'agp-keep-'));
      registry = await openFsRegistry({ root: join(dir, 'registry') });
      kafka = createKafka(parseInfraConfig().kafka, { clientId: 'agp-test-keep' });
      await createTopicsReady(kafka, [{ topic, numPartitions: 1 }, { topic: `${topic}.dlq` }]);
      producer = kafka.producer();
      await producer.connect();
    });

    after(async () => {
      await producer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
      await admin.disconnect();
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps exactly the published version, and the next window continues from it', async () => {
      const trainers = new TrainerCache();
      const offline = await runOfflinePhase(
        registry,
        model,
        tinyTrainConfig(model, { trainRows: 1024, testRows: 256 }),
        { outDir: join(dir, 'offline') },
      );
      await replay(all, { producer, topic, idPrefix: 'keep-' });
      const window = (fromVersion: string, versions: number) =>
        runRecurringWindow(
          { kafka, registry },
          {
            model,
            fromVersion,
            topic,
            groupId: `keep-${randomUUID()}`,
            eventsPerVersion: perVersion,
            // Four versions of `perVersion` over two windows: boundaries not deferred.
            exactVersions: true,
            versions,
            publishEverySeconds: 3600,
            workDir: dir,
            trainers,
          },
        );

      const first = await window(offline.manifest.version, 2);
      assert.equal(first.versions.length, 2);
      assert.deepEqual(trainers.models(), [model], 'a clean window hands its trainer over');
      const kept = trainers.take(model, first.lastVersion);
      assert.ok(kept, 'kept as the last published version');
      const fromRegistry = await loadTrainerFromVersion(
        registry,
        model,
        first.lastVersion as ModelVersion,
      );
      try {
        const [a, b] = [state(kept.trainer), state(fromRegistry.trainer)];
        assert.equal(a.length, b.length);
        a.forEach((x, i) => assert.deepEqual(x, b[i], `tensor ${i} equals the checkpoint's`));
        assert.equal(kept.trainer.stepCount, fromRegistry.trainer.stepCount);
      } finally {
        fromRegistry.trainer.dispose();
      }
      trainers.keep(model, kept);

      // The next window takes it (nothing left in the cache while it runs) and continues the chain.
      const second = await window(first.lastVersion, 2);
      assert.deepEqual(trainers.models(), [model]);
      const chain = [...first.versions, ...second.versions];
      const manifests = await Promise.all(chain.map((v) => registry.get(model, v as ModelVersion)));
      let end = 0;
      for (const m of manifests) {
        assert.ok(m.dataRange.kind === 'recurring');
        assert.equal(
          Number(m.dataRange.fromOffsets[topic]?.['0'] ?? 0),
          end,
          `${m.version} starts where its parent ended`,
        );
        end = Number(m.dataRange.toOffsets[topic]?.['0']);
      }
      assert.equal(end, 4 * perVersion, 'every event trained once');
      assert.equal(manifests[2]?.parent, first.lastVersion);

      // A kept trainer of another version is stale: disposed, not handed out.
      assert.equal(trainers.take(model, first.lastVersion), undefined);
      assert.deepEqual(trainers.models(), []);
    });
  },
);
