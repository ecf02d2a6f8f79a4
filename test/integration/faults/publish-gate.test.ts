import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { Manifest, ModelVersion } from '../../../schemas/manifest';
import { REFERENCE_OPTIMIZERS } from '../../../schemas/model-config';
import { parseInfraConfig } from '../../../src/config/env';
import { tinyTrainConfig } from '../../tiny-train-config';
import { initBackend } from '../../../src/model/backend';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { runRecurringWindow } from '../../../src/pipeline/recurring-window';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { resumePoint } from '../../../src/registry/lineage';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { createKafka } from '../../../src/stream/kafka-client';
import { isHeldBack } from '../../../src/stream/held-back-slice';
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
        // The configured rates (factor 1), not the product's gentler default: this tests the
        // gate, so the mislabelled events must do clear damage in one version.
        recurringOptimizer: { schedule: 'constant', scale: 1 },
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
      tinyTrainConfig(model, { trainRows: 2048, testRows: 512 }),
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

  it('holds a version that only the held-back slice shows broken, against an offline parent', async () => {
    // A stream whose trained events carry flipped labels while the events the gate holds back
    // are clean: the candidate learns the wrong thing, and only a comparison with its parent on
    // the same clean events can see it. Its parent is offline, so the progressive check has no
    // baseline; before the held-back slice the first recurring version was never judged.
    const sliceTopic = `${topic}-slice`;
    const holdBack = { fraction: 0.3, capacity: 1000 };
    // Enough trained events for the flipped labels to do clear damage, and a slice (~1,200
    // events) that measures it well beyond the paired test's noise.
    const events = 4000;
    const sliceRows = [
      ...syntheticEventRows({ preset: 'capacity-bound', seed: 5, teacherSeed: 1, rows: 2 * events })
        .rows,
    ] as RawRow[];
    await createTopicsReady(kafka, [
      { topic: sliceTopic, numPartitions: 1 },
      { topic: `${sliceTopic}.dlq` },
    ]);
    const sliceModel = `${model}-slice`;
    const offline = await runOfflinePhase(
      registry,
      sliceModel,
      // Plain SGD (the DLRM reference): with the default Adam lr 0.001 the flipped labels moved
      // the model too little for a test of the mechanism (held-back NE +3.4%, within tolerance).
      tinyTrainConfig(sliceModel, {
        trainRows: 2048,
        testRows: 512,
        model: { ...REFERENCE_OPTIMIZERS },
      }),
      { outDir: join(dir, 'offline-slice') },
    );
    const sliceWindow = (fromVersion: string, extra: Parameters<typeof window>[1]) =>
      window(fromVersion, {
        model: sliceModel,
        topic: sliceTopic,
        // The product's default tolerances (schemas/workflow-io.ts PublishGate).
        gate: { ne: 0.03, calibration: 0.15, holdBack },
        eventsPerVersion: events,
        ...extra,
      });
    try {
      // Offsets 0..events-1 of a fresh one-partition topic, produced in order.
      const poisoned = sliceRows
        .slice(0, events)
        .map((r, offset) =>
          isHeldBack(sliceTopic, 0, offset, holdBack.fraction)
            ? r
            : { ...r, label: (1 - r.label) as 0 | 1 },
        );
      await replay(poisoned, { producer, topic: sliceTopic, idPrefix: 'poisoned-' });
      const broken = await sliceWindow(offline.manifest.version, {});
      const heldManifest = await registry.get(sliceModel, broken.head as ModelVersion);
      const m = heldManifest.metrics;
      process.stderr.write(
        `held-back slice: ${m['heldBackScored']} events, NE ${m['heldBackNe']?.toFixed(4)} vs ` +
          `parent ${m['heldBackParentNe']?.toFixed(4)} (paired s.e. ${m['heldBackNeDiffStdErr']?.toFixed(4)}), ` +
          `calibration ${m['heldBackCalibration']?.toFixed(3)} vs ${m['heldBackParentCalibration']?.toFixed(3)}; ` +
          `reasons: ${heldManifest.gate?.reasons.join(' | ')}\n`,
      );
      assert.equal(broken.held.length, 1, 'the gate held the version');
      const reasons = broken.held[0]?.reasons ?? [];
      assert.ok(reasons.length > 0);
      for (const reason of reasons) assert.match(reason, /on \d+ held-back events .* of v000001/);
      assert.equal(await registry.latest(sliceModel), offline.manifest.version);
      const held = await registry.get(sliceModel, broken.head as ModelVersion);
      const heldBackScored = held.metrics['heldBackScored'] ?? 0;
      assert.ok(heldBackScored >= 100, `${heldBackScored} held-back events scored`);
      assert.ok((held.metrics['heldBackNe'] ?? 0) > (held.metrics['heldBackParentNe'] ?? 0));

      // Clean events after it: trained from the offline weights again, the version passes.
      const resume = await resumePoint(registry, sliceModel, offline.manifest.version);
      await replay(sliceRows.slice(events), {
        producer,
        topic: sliceTopic,
        idPrefix: 'clean-',
      });
      const next = await sliceWindow(resume.version, {
        expect: resume.head,
        skipped: resume.skipped,
        ...(resume.startOffsets === null ? {} : { startOffsets: resume.startOffsets }),
      });
      assert.deepEqual(next.held, [], 'a clean version passes the same check');
      const passed = await registry.get(sliceModel, next.lastVersion as ModelVersion);
      assert.ok((passed.metrics['heldBackScored'] ?? 0) >= 100);
      assert.ok(
        (passed.metrics['heldBackNe'] ?? Infinity) <
          1.03 * (passed.metrics['heldBackParentNe'] ?? 0),
      );
    } finally {
      const admin = kafka.admin();
      await admin.connect();
      await admin
        .deleteTopics({ topics: [sliceTopic, `${sliceTopic}.dlq`] })
        .catch(() => undefined);
      await admin.disconnect();
    }
  });
});
