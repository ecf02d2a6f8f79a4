import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { ModelVersion } from '../../../schemas/manifest';
import { infraConfig } from '../../../src/config/env';
import { initBackend } from '../../../src/model/backend';
import { clickModelLoader } from '../../../src/pipeline/click-predictor';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { createKafkaAnnouncer, type KafkaAnnouncer } from '../../../src/registry/kafka-announcer';
import { loadVersion } from '../../../src/registry/load';
import { createScoringService, type ScoringService } from '../../../src/serve/scoring-service';
import { parseServedModel } from '../../../src/serve/version-policy';
import { createKafka } from '../../../src/stream/kafka-client';
import { event } from '../../unit/stream/fixtures';
import { instance, publishModel, spec, until } from './helpers';

interface PredictReply {
  predictions: number[];
  model_version: string;
}

/** The fixtures' probe events as the service would build them from `instance(i)`. */
const PROBES = [0, 1, 2, 3].map((i) => instance(i));

/** What `version` predicts for the probes in-process (the registry predictor). */
async function expected(store: FsRegistryStore, model: string, version: ModelVersion) {
  const predictor = await loadVersion(store, model, version, clickModelLoader);
  try {
    const events = PROBES.map((p, i) => ({ ...event(i), ...p, label: 0 as const }));
    return Array.from(predictor.predict(events));
  } finally {
    predictor.dispose();
  }
}

function assertClose(actual: number[], wanted: number[], what: string): void {
  assert.equal(actual.length, wanted.length, what);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - wanted[i]!) < 1e-5, `${what}[${i}]: ${a} vs ${wanted[i]}`),
  );
}

describe('agp serve follows the registry (real Kafka, filesystem registry)', () => {
  let kafka: Kafka;
  let root: string;
  let announcer: KafkaAnnouncer;
  let store: FsRegistryStore;
  const topic = `test.serve.registry.${randomUUID().slice(0, 8)}`;
  const services: ScoringService[] = [];

  async function serve(
    models: string[],
    opts: { kafka?: boolean; pollMs?: number; graceMs?: number; batchWindowMs?: number } = {},
  ): Promise<{ service: ScoringService; url: string }> {
    const service = await createScoringService({
      store,
      models: models.map(parseServedModel),
      ...(opts.kafka ? { kafka, registryTopic: topic } : {}),
      pollMs: opts.pollMs ?? 60_000,
      graceMs: opts.graceMs ?? 60_000,
      batchWindowMs: opts.batchWindowMs ?? 0,
      log: () => undefined,
    });
    services.push(service);
    const url = await service.listen(0);
    return { service, url };
  }

  async function predict(
    url: string,
    model: string,
    path = `${model}:predict`,
  ): Promise<PredictReply> {
    const res = await fetch(`${url}/v1/models/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: PROBES }),
    });
    const body = (await res.json()) as PredictReply & { error?: string };
    assert.equal(res.status, 200, `predict ${model}: ${res.status} ${body.error ?? ''}`);
    return body;
  }

  before(async () => {
    await initBackend('cpu');
    kafka = createKafka(infraConfig().kafka, { clientId: 'agp-serve-test' });
    announcer = createKafkaAnnouncer(kafka, topic);
    root = await mkdtemp(join(tmpdir(), 'agp-serve-registry-'));
    store = await openFsRegistry({ root }, { announcer });
  });

  after(async () => {
    for (const s of services) await s.close();
    await announcer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await rm(root, { recursive: true, force: true });
  });

  it('a probe is scored by a new version once it is announced, without a restart (no poll)', async () => {
    const v1 = await publishModel(store, 'probe', 1);
    const { service, url } = await serve(['probe'], { kafka: true });
    await until(() => service.slots.get('probe')?.current !== null, 10_000, 'v1 loaded');
    const first = await predict(url, 'probe');
    assert.equal(first.model_version, v1.version);
    assertClose(first.predictions, await expected(store, 'probe', v1.version), 'v1 probe');

    // The watcher joins its group in the background; give it time before relying on it.
    await new Promise((r) => setTimeout(r, 3000));
    const v2 = await publishModel(store, 'probe', 2);
    const published = Date.now();
    await until(
      async () => (await predict(url, 'probe')).model_version === v2.version,
      20_000,
      'the announced version to serve',
    );
    const second = await predict(url, 'probe');
    assertClose(second.predictions, await expected(store, 'probe', v2.version), 'v2 probe');
    assert.notDeepEqual(second.predictions, first.predictions);
    process.stdout.write(`# publish → served (announcement): ${Date.now() - published} ms\n`);
  });

  it('without Kafka the poll finds new versions', async () => {
    await publishModel(store, 'polled', 1);
    const { service, url } = await serve(['polled'], { pollMs: 100 });
    await until(() => service.slots.get('polled')?.current !== null, 10_000, 'v1 loaded');
    const v2 = await publishModel(store, 'polled', 2);
    await until(
      async () => (await predict(url, 'polled')).model_version === v2.version,
      10_000,
      'the polled version to serve',
    );
  });

  it('swaps versions under concurrent load without a failed request or a mixed answer', async () => {
    const v1 = await publishModel(store, 'busy', 11);
    // A 20 ms batching window keeps requests queued on a version most of the time, so a swap
    // that disposed the old version under them (instead of after their leases) would fail some.
    const { service, url } = await serve(['busy'], {
      kafka: true,
      pollMs: 200,
      graceMs: 0,
      batchWindowMs: 20,
    });
    await until(() => service.slots.get('busy')?.current !== null, 10_000, 'v1 loaded');
    // Every distinct answer per version; checked against each version's own predictions after.
    const answers = new Map<string, Set<string>>();
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(`${url}/v1/models/busy:predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ instances: PROBES }),
          });
          const body = (await res.json()) as PredictReply;
          if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(body)}`);
          else {
            seen.set(body.model_version, (seen.get(body.model_version) ?? 0) + 1);
            const set = answers.get(body.model_version) ?? new Set<string>();
            set.add(JSON.stringify(body.predictions));
            answers.set(body.model_version, set);
          }
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (const seed of [12, 13, 14]) {
      await new Promise((r) => setTimeout(r, 700));
      const m = await publishModel(store, 'busy', seed);
      await until(
        () => service.slots.get('busy')?.current?.version === m.version,
        10_000,
        `${m.version} serving`,
      );
    }
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.deepEqual([...seen.keys()].sort(), [v1.version, 'v000002', 'v000003', 'v000004']);
    for (const [version, set] of answers) {
      const wanted = await expected(store, 'busy', version as ModelVersion);
      for (const answer of set)
        assertClose(JSON.parse(answer) as number[], wanted, `${version} reply`);
    }
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      `# ${total} requests across 3 swaps, 0 failed: ${JSON.stringify(Object.fromEntries(seen))}\n`,
    );
    // Replaced versions are disposed after the grace period; only the serving one stays.
    await until(
      () => service.slots.get('busy')!.loaded.length === 1,
      5_000,
      'old versions disposed',
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /agp_serve_swaps_total\{model="busy"\} 3/);
    // The serving version is an info metric; request series carry no version label.
    assert.match(metrics, /agp_model_version_info\{model="busy",version="v000004"\} 1/);
    assert.doesNotMatch(metrics, /agp_model_version_info\{model="busy",version="v00000[123]"\}/);
    assert.match(
      metrics,
      new RegExp(`agp_serve_requests_total\\{model="busy",status="200"\\} ${total}\\b`),
    );
  });

  it('refuses a corrupt or unloadable version, counts it, and keeps serving the current one', async () => {
    const v1 = await publishModel(store, 'guarded', 21);
    const { service, url } = await serve(['guarded']);
    await service.refresh();
    assert.equal(service.slots.get('guarded')?.current?.version, v1.version);

    // Checksums no longer match the manifest.
    const corrupt = await publishModel(store, 'guarded', 22);
    await writeFile(join(root, 'guarded', 'versions', corrupt.version, 'files', 'dense.bin'), 'x');
    await service.refresh();
    // Checksums match, but the files are not a checkpoint.
    const garbage = await store.publish(
      'guarded',
      { files: [{ path: 'not-a-checkpoint.txt', data: 'hello' }] },
      {
        phase: 'recurring',
        configHash: 'sha256:garbage',
        dataRange: {
          kind: 'recurring',
          fromOffsets: { t: { '0': '0' } },
          toOffsets: { t: { '0': '1' } },
          eventTime: null,
        },
        metrics: {},
        config: { train: {}, features: spec },
      },
    );
    await service.refresh();
    const slot = service.slots.get('guarded')!;
    assert.equal(slot.current?.version, v1.version);
    assert.deepEqual(
      slot.refused.map((r) => r.version),
      [corrupt.version, garbage.version],
    );
    assert.match(slot.refused[0]!.reason, /checksum mismatch/);
    assert.equal((await predict(url, 'guarded')).model_version, v1.version);
    const status = (await (await fetch(`${url}/v1/models/guarded`)).json()) as {
      model_version_status: { version: string; state: string; status: { error_code: string } }[];
    };
    assert.deepEqual(
      status.model_version_status.map((s) => [s.version, s.state]),
      [
        ['1', 'AVAILABLE'],
        ['2', 'END'],
        ['3', 'END'],
      ],
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /agp_serve_refused_versions_total\{model="guarded"\} 2/);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    const good = await publishModel(store, 'guarded', 24);
    await service.refresh();
    assert.equal((await predict(url, 'guarded')).model_version, good.version);
  });

  it('promoted and pinned policies serve what they name; a version path reaches a loaded version only', async () => {
    const v1 = await publishModel(store, 'policies', 31);
    const v2 = await publishModel(store, 'policies', 32);
    await publishModel(store, 'policies', 33);
    await store.promote('policies', v2.version, 'test');
    const promoted = await serve(['policies@promoted']);
    const pinned = await serve(['policies@1']);
    await promoted.service.refresh();
    await pinned.service.refresh();
    assert.equal((await predict(promoted.url, 'policies')).model_version, v2.version);
    assert.equal((await predict(pinned.url, 'policies')).model_version, v1.version);

    const v4 = await publishModel(store, 'policies', 34);
    await promoted.service.refresh();
    await pinned.service.refresh();
    assert.equal((await predict(promoted.url, 'policies')).model_version, v2.version);
    assert.equal((await predict(pinned.url, 'policies')).model_version, v1.version);

    await store.promote('policies', v4.version, 'test');
    await promoted.service.refresh();
    assert.equal((await predict(promoted.url, 'policies')).model_version, v4.version);
    // TF Serving answers for loaded versions: the replaced v2 (grace period), not v3.
    const byVersion = await predict(promoted.url, 'policies', 'policies/versions/2:predict');
    assert.equal(byVersion.model_version, v2.version);
    assertClose(byVersion.predictions, await expected(store, 'policies', v2.version), 'v2 by path');
    const v3 = await fetch(`${promoted.url}/v1/models/policies/versions/3:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: PROBES }),
    });
    assert.equal(v3.status, 404);
    assert.match(
      ((await v3.json()) as { error: string }).error,
      /not loaded \(loaded: v000004, v000002\)/,
    );
    assert.equal((await predict(pinned.url, 'policies')).model_version, v1.version);
  });

  it('a registry rollback takes effect within a second (the replaced version is still loaded)', async () => {
    const v1 = await publishModel(store, 'rollback', 41);
    const { service, url } = await serve(['rollback'], { pollMs: 500 });
    await service.refresh();
    const v1Loaded = service.slots.get('rollback')!.current!;
    const v2 = await publishModel(store, 'rollback', 42);
    await service.refresh();
    assert.equal((await predict(url, 'rollback')).model_version, v2.version);

    const started = Date.now();
    await store.rollback('rollback', undefined, 'test: bad version');
    await until(
      async () => (await predict(url, 'rollback')).model_version === v1.version,
      1_000,
      'the rollback to serve',
    );
    const tookMs = Date.now() - started;
    // Swapped back to the still-loaded version, not reloaded.
    assert.equal(service.slots.get('rollback')!.current, v1Loaded);
    assertClose(
      (await predict(url, 'rollback')).predictions,
      await expected(store, 'rollback', v1.version),
      'rolled back',
    );
    process.stdout.write(`# rollback → served: ${tookMs} ms\n`);
  });
});
