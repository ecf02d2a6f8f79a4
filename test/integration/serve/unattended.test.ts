import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../../src/model/backend';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { createScoringService, type ScoringService } from '../../../src/serve/scoring-service';
import { parseServedModel } from '../../../src/serve/version-policy';
import { instance, publishModel, until } from './helpers';

/**
 * Issue 25, unattended operation: a replica whose `latest` (or pinned version) cannot be served
 * still becomes ready with the newest version that verifies and says which and why; a port
 * already taken makes `agp serve` exit non-zero naming the port.
 */
describe('agp serve runs unattended', () => {
  let root: string;
  let store: FsRegistryStore;
  const services: ScoringService[] = [];

  before(async () => {
    await initBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'agp-serve-unattended-'));
    store = await openFsRegistry({ root });
  });

  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    await rm(root, { recursive: true, force: true });
  });

  async function serve(model: string): Promise<{ service: ScoringService; url: string }> {
    const service = await createScoringService({
      store,
      models: [parseServedModel(model)],
      pollMs: 100,
      log: () => undefined,
    });
    services.push(service);
    return { service, url: await service.listen(0) };
  }

  async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('a fresh replica whose latest is corrupt serves the newest version that verifies, and says so', async () => {
    const v1 = await publishModel(store, 'fresh', 1);
    const v2 = await publishModel(store, 'fresh', 2);
    const v3 = await publishModel(store, 'fresh', 3);
    // Both newer versions damaged: the fallback walks down to v1.
    for (const v of [v2, v3]) {
      await writeFile(join(root, 'fresh', 'versions', v.version, 'files', 'dense.bin'), 'x');
    }
    const { service, url } = await serve('fresh');
    await until(() => service.slots.get('fresh')?.current !== null, 20_000, 'a version loaded');
    assert.equal(service.slots.get('fresh')?.current?.version, v1.version);

    const ready = await json(`${url}/readyz`);
    assert.equal(ready.status, 200);
    const [summary] = ready.body['models'] as {
      serving: string;
      fallback: { wanted: string; reason: string };
    }[];
    assert.equal(summary?.serving, v1.version);
    assert.equal(summary?.fallback.wanted, v3.version);
    assert.match(summary?.fallback.reason ?? '', /dense\.bin/);

    const status = await json(`${url}/v1/models/fresh`);
    const versions = status.body['model_version_status'] as {
      version: string;
      state: string;
      status: { error_code: string; error_message: string };
    }[];
    assert.deepEqual(
      versions.map((v) => [v.version, v.state, v.status.error_code]),
      [
        ['1', 'AVAILABLE', 'OK'],
        ['3', 'END', 'DATA_LOSS'],
        ['2', 'END', 'DATA_LOSS'],
      ],
    );
    const res = await fetch(`${url}/v1/models/fresh:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [instance(1)] }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { model_version: string }).model_version, v1.version);

    // A good new version is served as soon as it appears, and the fallback note goes.
    const v4 = await publishModel(store, 'fresh', 4);
    await until(() => service.slots.get('fresh')?.current?.version === v4.version, 10_000, 'v4');
    const after4 = await json(`${url}/readyz`);
    assert.equal((after4.body['models'] as { fallback: unknown }[])[0]?.fallback, null);
  });

  it('a pinned version that is gone (retention) answers NOT_FOUND and the newest good version serves', async () => {
    const v1 = await publishModel(store, 'pinned', 1);
    const { service, url } = await serve('pinned@v000009');
    await until(() => service.slots.get('pinned')?.current !== null, 20_000, 'a version loaded');
    assert.equal(service.slots.get('pinned')?.current?.version, v1.version);
    const status = await json(`${url}/v1/models/pinned`);
    const refused = (
      status.body['model_version_status'] as { version: string; status: { error_code: string } }[]
    ).find((v) => v.version === '9');
    assert.equal(refused?.status.error_code, 'NOT_FOUND');
    const pinnedVersion = await fetch(`${url}/v1/models/pinned/versions/9:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [instance(1)] }),
    });
    assert.equal(pinnedVersion.status, 404);
    assert.match(((await pinnedVersion.json()) as { error: string }).error, /not loaded/);
  });

  it('a model without any good version stays unready, naming it', async () => {
    const only = await publishModel(store, 'broken', 1);
    await writeFile(join(root, 'broken', 'versions', only.version, 'files', 'dense.bin'), 'x');
    const { service, url } = await serve('broken');
    await until(() => service.slots.get('broken')!.refused.length === 1, 10_000, 'refused');
    const ready = await json(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body['waiting'], ['broken']);
  });

  for (const taken of ['REST', 'gRPC'] as const) {
    it(`agp serve on a ${taken} port already taken exits non-zero naming the port`, async () => {
      const blocker: Server = createServer();
      await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
      const port = (blocker.address() as { port: number }).port;
      try {
        if ((await store.latest('bound')) === null) await publishModel(store, 'bound', 1);
        const agp = resolve(__dirname, '..', '..', '..', 'bin', 'agp.js');
        const ports =
          taken === 'REST'
            ? ['--port', String(port), '--grpc-port', '0']
            : ['--port', '0', '--grpc-port', String(port)];
        const child = spawn(
          process.execPath,
          [agp, 'serve', '--model', 'bound', '--root', root, '--no-watch', ...ports],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGP_BACKEND: 'cpu' } },
        );
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const code = await new Promise<number | null>((ok, fail) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            fail(new Error(`agp serve still running after 60 s:\n${stderr}`));
          }, 60_000);
          child.on('exit', (c) => {
            clearTimeout(timer);
            ok(c);
          });
        });
        assert.notEqual(code, 0, stderr);
        assert.match(
          stderr,
          new RegExp(
            `cannot listen${taken === 'gRPC' ? ' for gRPC' : ''} on 127\\.0\\.0\\.1:${port}: the port is already in use`,
          ),
        );
      } finally {
        blocker.close();
      }
    });
  }
});
