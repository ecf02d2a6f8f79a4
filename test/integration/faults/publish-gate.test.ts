import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { Manifest, ModelVersion } from '../../../schemas/manifest';
import { parseInfraConfig } from '../../../src/config/env';
import { initBackend } from '../../../src/model/backend';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { runRecurringWindow } from '../../../src/pipeline/recurring-window';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { resumePoint } from '../../../src/registry/lineage';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { createKafka } from '../../../src/stream/kafka-client';
import { replay, type RawRow } from '../../../src/stream/replay';

/**
 * The publish gate on a real model, real Kafka and the filesystem registry: a burst of
 * mislabelled events produces a version whose progressive NE regresses; it is published held,
 * `latest` stays at the good version, and the next window trains from the good version's weights,
 * skipping (and recording) the held version's offsets.
 */
describe('publish gate (real model, real Kafka)', { timeout: 300_000 }, () => {
  const model = `gate-${randomUUID().slice(0, 8)}`;
  const topic = `test-gate-${randomUUID()}`;
  const perVersion = 1000;
  const tolerances = { ne: 0.1, calibration: 0.5 };
  let dir: string;
  let registry: FsRegistryStore;
  let kafka: Kafka;
  let producer: Producer;
  const { rows } = syntheticEventRows({
    preset: 'capacity-bound',
    seed: 4,
    teacherSeed: 1,
    rows: 3 * perVersion,
  });
  const all = [...rows] as RawRow[];

  before(async () => {
    await initBackend();
    dir = await mkdtemp(join(tmpdir(), 'agp-gate-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
    kafka = createKafka(parseInfraConfig().kafka, { clientId: 'agp-test-gate' });
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

  const window = (fromVersion: string, extra: Partial<Parameters<typeof runRecurringWindow>[1]>) =>
    runRecurringWindow(
      { kafka, registry },
      {
        model,
        fromVersion,
        topic,
        groupId: `gate-${randomUUID()}`,
        eventsPerVersion: perVersion,
        versions: 1,
        publishEverySeconds: 3600,
        workDir: dir,
        gate: tolerances,
        ...extra,
      },
    );
  const range = (m: Manifest) => {
    assert.ok(m.dataRange.kind === 'recurring');
    return [
      Number(m.dataRange.fromOffsets[topic]?.['0']),
      Number(m.dataRange.toOffsets[topic]?.['0']),
    ];
  };

  it('holds a version trained on mislabelled events; the next one continues from the good one', async () => {
    const offline = await runOfflinePhase(
      registry,
      model,
      {
        name: model,
        data: {
          train: {
            kind: 'synthetic',
            preset: 'capacity-bound',
            seed: 1,
            split: 'train',
            rows: 2048,
          },
          test: { kind: 'synthetic', preset: 'capacity-bound', seed: 1, split: 'test', rows: 512 },
        },
        model: { embeddingDim: 4, bottom: [16, 4], top: [16, 1], batchSize: 64 },
        evalPoints: 0,
        evalRows: 256,
      },
      { outDir: join(dir, 'offline') },
    );

    await replay(all.slice(0, perVersion), { producer, topic, idPrefix: 'clean-a-' });
    const first = await window(offline.manifest.version, {});
    const good = first.lastVersion;
    assert.deepEqual(first.held, []);
    assert.equal(await registry.latest(model), good);

    // Every label flipped: the model's predictions are now confidently wrong.
    const flipped = all
      .slice(perVersion, 2 * perVersion)
      .map((r) => ({ ...r, label: (1 - r.label) as 0 | 1 }));
    await replay(flipped, { producer, topic, idPrefix: 'flipped-' });
    const broken = await window(good, {});
    assert.equal(broken.held.length, 1, 'the gate held the broken version');
    const held = broken.held[0]?.version as ModelVersion;
    assert.match(broken.held[0]?.reasons.join(' ') ?? '', /NE .* > .* of v\d+/);
    assert.equal(broken.lastVersion, good);
    assert.equal(await registry.latest(model), good, 'latest did not move to the held version');
    const [listing] = await registry.list(model);
    assert.equal(listing?.versions.find((v) => v.version === held)?.held, true);

    // The next window: from the registry, as a retried or next activity would.
    const resume = await resumePoint(registry, model, good as ModelVersion);
    assert.equal(resume.version, good);
    assert.equal(resume.head, held);
    await replay(all.slice(2 * perVersion), { producer, topic, idPrefix: 'clean-b-' });
    const next = await window(resume.version, {
      expect: resume.head,
      skipped: resume.skipped,
      ...(resume.startOffsets === null ? {} : { startOffsets: resume.startOffsets }),
    });
    assert.deepEqual(next.held, [], 'trained from the good weights, the next version passes');
    const nextVersion = next.lastVersion as ModelVersion;
    const manifest = await registry.get(model, nextVersion);
    assert.equal(manifest.parent, good);
    assert.deepEqual(
      manifest.skipped?.map((s) => s.version),
      [held],
    );
    assert.equal(await registry.latest(model), nextVersion);

    // An auditor accounts for every offset: served chain + held versions, no overlap, no gap.
    const spans = await Promise.all(
      [good, held, nextVersion].map(async (v) =>
        range(await registry.get(model, v as ModelVersion)),
      ),
    );
    assert.deepEqual(spans, [
      [0, perVersion],
      [perVersion, 2 * perVersion],
      [2 * perVersion, 3 * perVersion],
    ]);
  });
});
