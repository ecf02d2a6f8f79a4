import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { Manifest, ModelVersion } from '../../../schemas/manifest';
import { REFERENCE_OPTIMIZERS } from '../../../schemas/model-config';
import { parseInfraConfig } from '../../../src/config/env';
import { initBackend } from '../../../src/model/backend';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { runRecurringWindow } from '../../../src/pipeline/recurring-window';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { auditChain } from '../../../src/registry/audit';
import { resumePoint } from '../../../src/registry/lineage';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { createKafka } from '../../../src/stream/kafka-client';
import { HELD_BACK_SLICE_FILE, isHeldBack } from '../../../src/stream/held-back-slice';
import { replay, type RawRow } from '../../../src/stream/replay';
import { tinyTrainConfig } from '../../tiny-train-config';

/**
 * The watch after serving (issue 26 item 2), on a real model, real Kafka and the filesystem
 * registry: a version trained on mislabelled events is let through (its window runs without a
 * gate, as a gate blind spot would); the next window's watch scores it on held-back events
 * consumed after it against the version it replaced, finds it significantly worse, holds the
 * candidate trained from it and publishes a revert — `latest` serves the replaced version's
 * weights again, the chain stays unforked, and training continues from there.
 */
describe(
  'watch after serving: a served version that falls behind is reverted',
  { timeout: 300_000 },
  () => {
    const model = `watch-${randomUUID().slice(0, 8)}`;
    const topic = `test-watch-${randomUUID()}`;
    const perVersion = 1600;
    // Half the events held back: the watch judges the bad version on ~800 events consumed after it.
    const holdBack = { fraction: 0.5, capacity: 2000 };
    const gate = { ne: 0.03, calibration: 0.15, heldBackNe: 0.005, falseAlarmRate: 0.01, holdBack };
    let dir: string;
    let registry: FsRegistryStore;
    let kafka: Kafka;
    let producer: Producer;
    const all = [
      ...syntheticEventRows({
        preset: 'capacity-bound',
        seed: 6,
        teacherSeed: 1,
        rows: 4 * perVersion,
      }).rows,
    ] as RawRow[];

    before(async () => {
      await initBackend();
      dir = await mkdtemp(join(tmpdir(), 'agp-watch-'));
      registry = await openFsRegistry({ root: join(dir, 'registry') });
      kafka = createKafka(parseInfraConfig().kafka, { clientId: 'agp-test-watch' });
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

    const window = async (fromVersion: ModelVersion, windowGate: typeof gate) => {
      const resume = await resumePoint(registry, model, fromVersion);
      return runRecurringWindow(
        { kafka, registry },
        {
          model,
          fromVersion: resume.version,
          expect: resume.head,
          skipped: resume.skipped,
          ...(resume.startOffsets === null ? {} : { startOffsets: resume.startOffsets }),
          topic,
          groupId: `watch-${randomUUID()}`,
          eventsPerVersion: perVersion,
          versions: 1,
          publishEverySeconds: 3600,
          workDir: dir,
          gate: windowGate,
          // The configured rates (factor 1): the flipped labels must do clear damage.
          recurringOptimizer: { schedule: 'constant', scale: 1 },
        },
      );
    };

    it('reverts to the replaced weights, holds the candidate trained from the bad version, continues', async () => {
      const offline = await runOfflinePhase(
        registry,
        model,
        // Plain SGD (the DLRM reference), so the flipped labels do clear damage in one version.
        tinyTrainConfig(model, {
          trainRows: 2048,
          testRows: 512,
          model: { ...REFERENCE_OPTIMIZERS },
        }),
        { outDir: join(dir, 'offline') },
      );
      const offlineVersion = offline.manifest.version;

      // v2: clean, judged and served.
      await replay(all.slice(0, perVersion), { producer, topic, idPrefix: 'a' });
      const first = await window(offlineVersion, gate);
      assert.deepEqual(first.held, []);
      const good = first.lastVersion as ModelVersion;
      const goodManifest = await registry.get(model, good);
      assert.ok(
        goodManifest.files.some((f) => f.path === HELD_BACK_SLICE_FILE),
        'the slice is stored',
      );

      // v3: the trained events carry flipped labels (held-back ones stay clean) and its window
      // runs with no effective gate: a bad version that got served.
      const poisoned = all
        .slice(perVersion, 2 * perVersion)
        .map((r, i) =>
          isHeldBack(topic, 0, perVersion + i, holdBack.fraction)
            ? r
            : { ...r, label: (1 - r.label) as 0 | 1 },
        );
      await replay(poisoned, { producer, topic, idPrefix: 'b' });
      const blind = { ...gate, ne: Infinity, calibration: Infinity, heldBackNe: Infinity };
      const second = await window(good, blind);
      const bad = second.lastVersion as ModelVersion;
      assert.notEqual(bad, good);
      assert.equal(await registry.latest(model), bad, 'the bad version was served');

      // v4: clean events after it. The watch scores v3 against v2 on the ~800 held back since v3.
      await replay(all.slice(2 * perVersion, 3 * perVersion), { producer, topic, idPrefix: 'c' });
      const third = await window(bad, gate);
      assert.equal(third.held.length, 1, 'the candidate trained from the bad version is held');
      assert.match(
        third.held[0]?.reasons.join(' ') ?? '',
        /trained from a reverted version: served v\d+ fell behind/,
      );
      assert.ok(third.reverted, 'a revert was published');
      const revert = await registry.get(model, third.reverted.version as ModelVersion);
      assert.equal(revert.revert?.of, bad);
      assert.equal(revert.revert?.restores, good);
      assert.match(
        revert.revert?.reason ?? '',
        /fell behind .* on \d+ held-back events consumed after it/,
      );
      assert.equal(
        await registry.latest(model),
        revert.version,
        'latest serves the good weights again',
      );
      assert.equal(third.lastVersion, revert.version);
      // The revert carries the good version's weights byte for byte.
      const weights = (m: Manifest) => m.files.filter((f) => f.path !== HELD_BACK_SLICE_FILE);
      assert.deepEqual(weights(revert), weights(goodManifest));

      // v6: the chain continues from the revert, after the held version's offsets.
      await replay(all.slice(3 * perVersion), { producer, topic, idPrefix: 'd' });
      const fourth = await window(revert.version, gate);
      assert.deepEqual(fourth.held, [], `held: ${JSON.stringify(fourth.held)}`);
      const next = await registry.get(model, fourth.lastVersion as ModelVersion);
      assert.equal(next.parent, revert.version);

      // Every offset accounted for once, and no fork: v3's served child is the revert only.
      const [listing] = await registry.list(model);
      const manifests = await Promise.all(
        (listing?.versions ?? [])
          .filter((v) => v.phase === 'recurring')
          .map((v) => registry.get(model, v.version)),
      );
      const audit = auditChain(manifests, (m) => m.gate?.held === true);
      assert.deepEqual(audit.problems, []);
      assert.deepEqual(audit.coverage[`${topic}/0`], [0, 4 * perVersion]);
      // The held-back slice lives in the version files the next window reads.
      const slice = JSON.parse(
        await readFile(
          join((await registry.fetch(model, next.version)).dir, HELD_BACK_SLICE_FILE),
          'utf8',
        ),
      ) as { entries: unknown[] };
      assert.ok(slice.entries.length > 0);
    });
  },
);
