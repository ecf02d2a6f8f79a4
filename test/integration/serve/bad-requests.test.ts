import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../../src/model/backend';
import { openFsRegistry } from '../../../src/registry/fs-store';
import { createScoringService, type ScoringService } from '../../../src/serve/scoring-service';
import { parseServedModel } from '../../../src/serve/version-policy';
import { instance, publishModel } from './helpers';

interface Reply {
  status: number;
  body: { error?: string; issues?: { path: string; message: string }[]; predictions?: number[] };
}

describe('agp serve answers every bad request with a clear error and keeps serving', () => {
  let root: string;
  let service: ScoringService;
  let url: string;

  async function post(path: string, body: string, type = 'application/json'): Promise<Reply> {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    });
    return { status: res.status, body: (await res.json()) as Reply['body'] };
  }
  const predict = (body: unknown) => post('/v1/models/ctr:predict', JSON.stringify(body));

  /** Asserts a 400 whose issues include `path` with a message matching `message`. */
  async function rejects(body: unknown, path: string, message: RegExp): Promise<void> {
    const reply = await predict(body);
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
    const issue = reply.body.issues?.find((i) => i.path === path);
    assert.ok(issue, `no issue at ${path}: ${JSON.stringify(reply.body)}`);
    assert.match(issue.message, message);
    assert.match(reply.body.error ?? '', new RegExp(path.replace(/[.]/g, '\\.')));
  }

  before(async () => {
    await initBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'agp-serve-bad-'));
    const store = await openFsRegistry({ root });
    await publishModel(store, 'ctr', 1);
    service = await createScoringService({
      store,
      models: ['ctr', 'empty'].map(parseServedModel),
      pollMs: 60_000,
      maxInstances: 8,
      bodyLimitBytes: 16 * 1024,
      requestTimeoutMs: 500,
      log: () => undefined,
    });
    await service.refresh();
    url = await service.listen(0);
  });

  after(async () => {
    await service.close();
    await rm(root, { recursive: true, force: true });
  });

  it('400 with the field path for every malformed body', async () => {
    const good = instance(1);
    await rejects({}, '(body)', /exactly one of "instances" or "inputs"/);
    await rejects({ instances: 'x' }, 'instances', /expected a list/);
    await rejects({ instances: [] }, 'instances', /at least one instance/);
    await rejects({ instances: Array(9).fill(good) }, 'instances', /at most 8 instances/);
    await rejects({ instances: [good], extra: 1 }, 'extra', /unknown key 'extra'/);
    await rejects({ instances: [good, 'x'] }, 'instances.1', /expected an object/);
    await rejects(
      { instances: [{ ...good, label: 1 }] },
      'instances.0.label',
      /unknown input 'label'/,
    );
    await rejects(
      { instances: [{ ...good, dense: [1, 2, 3] }] },
      'instances.0.dense',
      /expected 2 values .*d1, d2.*got 3/,
    );
    await rejects({ inputs: { dense: [[1, 2]], sparse: [] } }, 'inputs', /same number of rows/);
    await rejects(
      { instances: [{ ...good, sparse: { ...good.sparse, c9: 'x' } }] },
      'instances.0.sparse.c9',
      /unknown feature/,
    );
    await rejects(
      { instances: [{ ...good, dense: { ...good.dense, d1: 'abc' } }] },
      'instances.0.dense.d1',
      /expected number/i,
    );
    await rejects(
      { instances: [{ ...good, sparse: { ...good.sparse, c1: '\ud800' } }] },
      'instances.0.sparse.c1',
      /unpaired surrogate/,
    );
    const proto = await post(
      '/v1/models/ctr:predict',
      `{"instances":[{"dense":{"d1":1,"d2":2,"__proto__":3},"sparse":{"c1":"a","c2":1}}]}`,
    );
    assert.equal(proto.status, 400);
    assert.ok(proto.body.issues?.some((i) => i.path === 'instances.0.dense.__proto__'));
  });

  it('400 for bad JSON whatever its content type (as TF Serving), 413 beyond the body limit', async () => {
    const bad = await post('/v1/models/ctr:predict', '{"instances": [');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error ?? '', /JSON/);
    const xml = await post('/v1/models/ctr:predict', '<instances/>', 'application/xml');
    assert.equal(xml.status, 400);
    assert.match(xml.body.error ?? '', /not valid JSON/);
    const text = await post('/v1/models/ctr:predict', '[1]', 'text/plain');
    assert.equal(text.status, 400);
    assert.match(text.body.error ?? '', /\(body\): expected a JSON object/);
    const big = await predict({ instances: [instance(1)], pad: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    assert.match(big.body.error ?? '', /too large/i);
  });

  it('404 for an unknown model or version, 503 for a model with no version yet', async () => {
    const body = JSON.stringify({ instances: [instance(1)] });
    const model = await post('/v1/models/nope:predict', body);
    assert.equal(model.status, 404);
    assert.match(model.body.error ?? '', /model 'nope' is not served here \(served: ctr, empty\)/);
    const version = await post('/v1/models/ctr/versions/7:predict', body);
    assert.equal(version.status, 404);
    assert.match(
      version.body.error ?? '',
      /version 7 of model 'ctr' is not loaded \(loaded: v000001\)/,
    );
    assert.equal((await post('/v1/models/ctr/versions/seven:predict', body)).status, 404);
    const classify = await post('/v1/models/ctr:classify', body);
    assert.equal(classify.status, 400);
    assert.match(classify.body.error ?? '', /no classification signature/);
    assert.equal((await fetch(`${url}/v1/models/nope`)).status, 404);
    const empty = await post('/v1/models/empty:predict', body);
    assert.equal(empty.status, 503);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    const readiness = (await ready.json()) as { ready: boolean; waiting: string[] };
    assert.equal(readiness.ready, false);
    assert.deepEqual(readiness.waiting, ['empty']);
  });

  it('408 for a client that stops sending its body, and the server keeps serving', async () => {
    const { port } = new URL(url);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /v1/models/ctr:predict HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"inst',
        );
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /\r\n\r\n\{"error":"the request did not arrive whole within 500 ms"\}$/);
    assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);

    const ok = await predict({ instances: [instance(1), instance(2)] });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.predictions?.length, 2);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /agp_serve_requests_total\{model="ctr",status="400"\} [1-9]\d*/);
    assert.match(metrics, /agp_serve_requests_total\{model="\(unknown\)",status="404"\} 1/);
    assert.match(metrics, /agp_serve_requests_total\{model="\(unknown\)",status="408"\} 1/);
    assert.match(metrics, /agp_serve_requests_total\{model="empty",status="200"\} 0/);
  });
});
