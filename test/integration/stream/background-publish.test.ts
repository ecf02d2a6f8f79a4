import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import type { Manifest, ModelVersion } from '../../../schemas/manifest';
import { parseInfraConfig } from '../../../src/config/env';
import { initBackend } from '../../../src/model/backend';
import { runOfflinePhase } from '../../../src/pipeline/offline-phase';
import { runRecurringWindow, TRAINED_IDS_FILE } from '../../../src/pipeline/recurring-window';
import { syntheticEventRows } from '../../../src/pipeline/synthetic-events';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry';
import { auditChain } from '../../../src/registry/audit';
import type { RegistryStore } from '../../../src/registry/store';
import { createTopicsReady } from '../../../src/stream/create-topics';
import { createKafka } from '../../../src/stream/kafka-client';
import { replay, type RawRow } from '../../../src/stream/replay';
import { tinyTrainConfig } from '../../tiny-train-config';

/** The real store, except that its `failAt`-th publish (1-based) fails after it was asked. */
function failingPublishAt(registry: RegistryStore, failAt: number): RegistryStore {
  let calls = 0;
  return new Proxy(registry, {
    get(target, key, receiver) {
      if (key === 'publish') {
        return async (...args: Parameters<RegistryStore['publish']>) => {
          calls++;
          if (calls === failAt) throw new Error('injected: the registry refused the publish');
          return target.publish(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/**
 * A version is written, gated and published in the background while training goes on
 * (src/pipeline/recurring-window.ts' publishVersion, src/stream/publish-in-flight.ts). When that
 * publish fails, the window fails as a failed publish always did: its offsets are not committed,
 * the events trained after the boundary are dropped with the trainer, and the next attempt,
 * resuming from the registry, trains every event exactly once.
 */
describe('background publish that fails (real model, real Kafka)', { timeout: 300_000 }, () => {
  const model = `bgpub-${randomUUID().slice(0, 8)}`;
  const topic = `test-bgpub-${randomUUID()}`;
  const perVersion = 400;
  const total = 4 * perVersion;
  let dir: string;
  let registry: FsRegistryStore;
  let kafka: Kafka;
  let producer: Producer;
  const { rows } = syntheticEventRows({
    preset: 'capacity-bound',
    seed: 9,
    teacherSeed: 1,
    rows: total,
  });

  before(async () => {
    await initBackend();
    dir = await mkdtemp(join(tmpdir(), 'agp-bgpub-'));
    registry = await openFsRegistry({ root: join(dir, 'registry') });
    kafka = createKafka(parseInfraConfig().kafka, { clientId: 'agp-test-bgpub' });
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

  it('commits nothing of a failed publish and the next attempt loses and repeats nothing', async () => {
    const offline = await runOfflinePhase(
      registry,
      model,
      tinyTrainConfig(model, { trainRows: 1024, testRows: 256 }),
      { outDir: join(dir, 'offline') },
    );
    await replay([...rows] as RawRow[], { producer, topic, idPrefix: 'bg-' });
    const groupId = `bgpub-${randomUUID()}`;
    const window = (
      store: RegistryStore,
      fromVersion: string,
      versions: number,
      windowSeconds?: number,
    ) =>
      runRecurringWindow(
        { kafka, registry: store },
        {
          model,
          fromVersion,
          topic,
          groupId,
          eventsPerVersion: perVersion,
          versions,
          publishEverySeconds: 3600,
          workDir: dir,
          recordTrainedIds: true,
          gate: { ne: 0.5, calibration: 0.5 },
          ...(windowSeconds === undefined ? {} : { windowSeconds }),
        },
      );

    // The second version's background publish fails, while the window trains on past it.
    await assert.rejects(
      window(failingPublishAt(registry, 2), offline.manifest.version, 4),
      /injected: the registry refused the publish/,
    );
    const first = await registry.latest(model);
    assert.ok(first !== null && first !== offline.manifest.version, 'the first version published');
    const firstManifest = await registry.get(model, first);
    assert.ok(firstManifest.dataRange.kind === 'recurring');
    assert.equal(Number(firstManifest.dataRange.toOffsets[topic]?.['0']), perVersion);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const offset = committed?.partitions.find((p) => p.partition === 0)?.offset;
      assert.equal(offset, String(perVersion), 'only the durable version is committed');
    } finally {
      await admin.disconnect();
    }

    // The next attempt resumes from the registry, not from the failed window's trainer. Its
    // length is a time (`windowSeconds`, here past at once): it ends at its first version.
    const retry = await window(registry, first, 10, 0.001);
    assert.equal(retry.versions.length, 1, 'a window ends at its first boundary past its time');
    const rest = await window(registry, retry.lastVersion, 2);
    assert.equal(rest.versions.length, 2);

    const listing = await registry.list(model);
    const versions = listing[0]?.versions.map((v) => v.version) ?? [];
    const manifests: Manifest[] = await Promise.all(
      versions.map((v) => registry.get(model, v as ModelVersion)),
    );
    const audit = auditChain(manifests, (m) => m.gate?.held === true);
    assert.deepEqual(audit.problems, [], 'no fork, no overlap, no gap');
    assert.deepEqual(audit.coverage[`${topic}/0`], [0, total]);
    const trained: string[] = [];
    for (const m of manifests.filter((x) => x.phase === 'recurring')) {
      const { dir: at } = await registry.fetch(model, m.version);
      trained.push(...(JSON.parse(await readFile(join(at, TRAINED_IDS_FILE), 'utf8')) as string[]));
    }
    assert.equal(new Set(trained).size, trained.length, 'no event trained twice');
    assert.equal(trained.length, total, 'no event lost');
  });
});
