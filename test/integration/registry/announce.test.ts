import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { Manifest } from '../../../schemas/manifest';
import type { RegistryAnnouncement } from '../../../schemas/registry-announcement';
import { infraConfig } from '../../../src/config/env';
import { openFsRegistry } from '../../../src/registry/fs-store';
import { createKafkaAnnouncer } from '../../../src/registry/kafka-announcer';
import { watchRegistry } from '../../../src/registry/registry-watch';
import { createKafka } from '../../../src/stream/kafka-client';
import { offlineFields, smallFiles, tempRoot } from '../../unit/registry/helpers';

/** Resolves once `predicate` holds, polling; rejects after `ms`. */
async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('registry announcements on the real Kafka broker', () => {
  let kafka: Kafka;
  let root: string;
  let dispose: () => Promise<void>;
  const topic = `test.registry.${randomUUID().slice(0, 8)}`;

  before(async () => {
    kafka = createKafka(infraConfig().kafka, { clientId: 'agp-registry-test' });
    ({ root, dispose } = await tempRoot());
  });
  after(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await dispose();
  });

  it('a publish is announced, and watchers get the verified manifest of their model only', async () => {
    const announcer = createKafkaAnnouncer(kafka, topic);
    const store = await openFsRegistry({ root }, { announcer });
    // A version published before the watchers start is not delivered: they start from "now".
    await store.publish('ctr', smallFiles('before'), offlineFields(0.85));

    const seen: { manifest: Manifest; announcement: RegistryAnnouncement }[] = [];
    const seenByOther: Manifest[] = [];
    const errors: Error[] = [];
    const watch = await watchRegistry(
      kafka,
      store,
      'ctr',
      (manifest, announcement) => {
        seen.push({ manifest, announcement });
      },
      { topic, onError: (e) => errors.push(e) },
    );
    const otherWatch = await watchRegistry(kafka, store, 'ctr', (m) => void seenByOther.push(m), {
      topic,
    });
    try {
      const started = Date.now();
      const published = [
        await store.publish('ctr', smallFiles('a'), offlineFields(0.8)),
        await store.publish('other-model', smallFiles('x'), offlineFields(0.9)),
        await store.publish('ctr', smallFiles('b'), offlineFields(0.79)),
      ];
      await until(() => seen.length >= 2 && seenByOther.length >= 2, 20_000, 'two announcements');
      const latencyMs = Date.now() - started;

      assert.deepEqual(
        seen.map((s) => s.manifest.version),
        ['v000002', 'v000003'],
      );
      assert.deepEqual(seen[0]?.manifest, published[0]);
      assert.deepEqual(seen[1]?.manifest, published[2]);
      const a = seen[1]!.announcement;
      assert.equal(a.parent, 'v000002');
      assert.equal(a.metrics['ne'], 0.79);
      assert.equal(a.manifestPath, store.manifestPath('ctr', published[2]!.version));
      // Every watcher has its own group, so each sees every announcement.
      assert.deepEqual(
        seenByOther.map((m) => m.version),
        ['v000002', 'v000003'],
      );
      assert.notEqual(watch.groupId, otherWatch.groupId);
      assert.deepEqual(errors, []);
      process.stdout.write(`# publish→watcher delivery of 3 publishes: ${latencyMs} ms\n`);
    } finally {
      await watch.stop();
      await otherWatch.stop();
      await announcer.disconnect();
    }
  });

  it('a watcher refuses an announced version whose files do not match, and carries on', async () => {
    const announcer = createKafkaAnnouncer(kafka, topic);
    const quiet = await openFsRegistry({ root });
    const seen: string[] = [];
    const errors: Error[] = [];
    const watch = await watchRegistry(kafka, quiet, 'corrupt', (m) => void seen.push(m.version), {
      topic,
      onError: (e) => errors.push(e),
    });
    try {
      const bad = await quiet.publish('corrupt', smallFiles('a'), offlineFields());
      await writeFile(join(root, 'corrupt', 'versions', bad.version, 'files', 'meta.json'), '{}');
      await announcer.announce(bad, quiet.manifestPath('corrupt', bad.version));
      const good = await quiet.publish('corrupt', smallFiles('b'), offlineFields());
      await announcer.announce(good, quiet.manifestPath('corrupt', good.version));
      await until(() => seen.length >= 1, 20_000, 'the good version');
      assert.deepEqual(seen, ['v000002']);
      assert.equal(errors.length, 1);
      assert.match(errors[0]?.message ?? '', /checksum mismatch in .*meta\.json/);
    } finally {
      await watch.stop();
      await announcer.disconnect();
    }
  });
});
