import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { SIGNATURE } from '../../../src/export/inference-graph';
import type { ModelVersion } from '../../../schemas/manifest';
import { SERVE_TAG, exportSavedModel } from '../../../src/export/savedmodel';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { createScoringService, type ScoringService } from '../../../src/serve/scoring-service';
import { parseServedModel } from '../../../src/serve/version-policy';
import { onlyOutput, savedModelLoader, type SavedModelHandle } from '../../tf-saved-model';
import { publishModel, until } from './helpers';

/**
 * Issue 25: TF Serving's REST contract. One request file (contract-requests.json) is driven
 * against `agp serve` and against the exported SavedModel loaded with TensorFlow's own loader;
 * the answers agree. Then metadata, labels and error shapes as TF Serving has them.
 */

interface ContractRequest {
  name: string;
  method: 'predict' | 'regress';
  body: string;
  contentType?: string | null;
}

const FILE = JSON.parse(readFileSync(join(__dirname, 'contract-requests.json'), 'utf8')) as {
  requests: ContractRequest[];
};

/**
 * A client's own reading of a body, as the SavedModel's feed: TF Serving's NaN/Infinity tokens
 * as missing, integer literals past 15 digits kept as their text (a string tensor carries ids).
 */
function clientParse(text: string): unknown {
  return JSON.parse(
    text
      .replace(/(?<=[[,:]\s*)-?(NaN|Infinity)(?=\s*[,\]}])/g, 'null')
      .replace(/(?<=[[,:]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '"$1"'),
  );
}

type Row = { dense: unknown; sparse: unknown };

/** The signature's tensors for a request body, by the client (names from /metadata). */
function tensorsOf(
  body: Record<string, unknown>,
  names: { dense: string[]; sparse: string[] },
): { dense: number[][]; sparse: string[][] } {
  let rows: Row[];
  if ('inputs' in body) {
    const inputs = body['inputs'] as { dense: unknown[]; sparse: unknown[] };
    rows = inputs.dense.map((d, i) => ({ dense: d, sparse: inputs.sparse[i] }));
  } else if ('examples' in body) {
    rows = (body['examples'] as Record<string, unknown>[]).map((e) => ({
      dense: names.dense.map((n) => e[n] ?? null),
      sparse: names.sparse.map((n) => e[n] ?? null),
    }));
  } else rows = body['instances'] as Row[];
  const column = (group: unknown, order: string[]): unknown[] =>
    Array.isArray(group) ? group : order.map((n) => (group as Record<string, unknown>)[n] ?? null);
  return {
    dense: rows.map((r) =>
      column(r.dense, names.dense).map((v) => (v === null ? Number.NaN : Number(v))),
    ),
    sparse: rows.map((r) =>
      column(r.sparse, names.sparse).map((v) => (v === null ? '' : String(v))),
    ),
  };
}

describe("agp serve speaks TF Serving's REST contract", () => {
  let root: string;
  let store: FsRegistryStore;
  let service: ScoringService;
  let url: string;
  let savedModel: SavedModelHandle | null = null;

  before(async () => {
    const load = await savedModelLoader();
    root = await mkdtemp(join(tmpdir(), 'agp-serve-contract-'));
    store = await openFsRegistry({ root: join(root, 'registry') });
    const v1 = await publishModel(store, 'ctr', 1);
    await store.promote('ctr', v1.version, 'contract test: stable');
    await publishModel(store, 'ctr', 2);
    service = await createScoringService({
      store,
      models: [parseServedModel('ctr')],
      pollMs: 100,
      log: () => undefined,
    });
    url = await service.listen(0);
    await until(() => service.slots.get('ctr')?.current?.version === 'v000002', 20_000, 'v2');
    if (load !== null) {
      const exported = await exportSavedModel(store, 'ctr', 'latest', join(root, 'export'));
      savedModel = await load(exported.dir, [SERVE_TAG], SIGNATURE.key);
    }
  });

  after(async () => {
    savedModel?.dispose();
    await service.close();
    await rm(root, { recursive: true, force: true });
  });

  async function call(
    path: string,
    body?: string,
    contentType: string | null = 'application/json',
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body !== undefined ? { body } : {}),
      // fetch labels a string body text/plain; a null content type sends none at all.
      headers: contentType === null ? {} : { 'content-type': contentType },
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('answers every request of the file as the exported SavedModel does', async (t) => {
    if (savedModel === null) return t.skip('@tensorflow/tfjs-node is not installed');
    const meta = await call('/v1/models/ctr/metadata');
    const names = (meta.json['agp'] as { features: { dense: string[]; sparse: string[] } })
      .features;
    for (const request of FILE.requests) {
      const reply = await call(
        `/v1/models/ctr:${request.method}`,
        request.body,
        request.contentType,
      );
      assert.equal(reply.status, 200, `${request.name}: ${JSON.stringify(reply.json)}`);
      const served = (reply.json['predictions'] ??
        reply.json['outputs'] ??
        reply.json['result']) as number[];
      const body = clientParse(request.body) as Record<string, unknown>;
      const key =
        'inputs' in body ? 'outputs' : request.method === 'regress' ? 'result' : 'predictions';
      assert.ok(Array.isArray(reply.json[key]), `${request.name}: answers '${key}'`);
      const { dense, sparse } = tensorsOf(body, names);
      const out = onlyOutput(
        savedModel.predict({
          [SIGNATURE.dense]: tf.tensor2d(dense.flat(), [dense.length, names.dense.length]),
          [SIGNATURE.sparse]: tf.tensor2d(
            sparse.flat(),
            [sparse.length, names.sparse.length],
            'string',
          ),
        }),
      );
      const want = Array.from(await out.data());
      out.dispose();
      assert.equal(served.length, want.length, request.name);
      served.forEach((p, i) =>
        assert.ok(Math.abs(p - want[i]!) <= 1e-5, `${request.name}[${i}]: ${p} vs ${want[i]}`),
      );
    }
  });

  it('reads integers beyond 2^53 exactly: as a number it scores as the same id as a string', async () => {
    const score = async (sparse: string) =>
      (
        await call(
          '/v1/models/ctr:predict',
          `{"instances": [{"dense": [1, 1], "sparse": ${sparse}}]}`,
        )
      ).json['predictions'] as number[];
    for (const id of ['9007199254740993', '1000000000000000000000', '-18446744073709551617']) {
      assert.deepEqual(await score(`[${id}, 1]`), await score(`["${id}", "1"]`), id);
    }
    // 2^53 and 2^53 + 1 are different ids (JSON.parse would make them one).
    const a = await score('[9007199254740992, 9007199254740992]');
    const b = await score('[9007199254740993, 9007199254740993]');
    assert.notDeepEqual(a, b);
  });

  it("GET /metadata is TF Serving's GetModelMetadata in JSON", async () => {
    const meta = await call('/v1/models/ctr/versions/2/metadata');
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.json['model_spec'], { name: 'ctr', signature_name: '', version: '2' });
    const signature = (
      meta.json['metadata'] as {
        signature_def: { signature_def: Record<string, Record<string, unknown>> };
      }
    ).signature_def.signature_def['serving_default'];
    assert.deepEqual(signature, {
      inputs: {
        dense: {
          dtype: 'DT_FLOAT',
          tensor_shape: {
            dim: [
              { size: '-1', name: '' },
              { size: '2', name: '' },
            ],
            unknown_rank: false,
          },
          name: 'dense:0',
        },
        sparse: {
          dtype: 'DT_STRING',
          tensor_shape: {
            dim: [
              { size: '-1', name: '' },
              { size: '2', name: '' },
            ],
            unknown_rank: false,
          },
          name: 'sparse:0',
        },
      },
      outputs: {
        probability: {
          dtype: 'DT_FLOAT',
          tensor_shape: { dim: [{ size: '-1', name: '' }], unknown_rank: false },
          name: 'probability:0',
        },
      },
      method_name: 'tensorflow/serving/predict',
      defaults: {},
    });
  });

  it('labels: canary is latest, stable is the promoted version (reached while it is loaded)', async () => {
    const body = '{"instances": [{"dense": [1, 1], "sparse": ["a", "b"]}]}';
    const canary = await call('/v1/models/ctr/labels/canary:predict', body);
    assert.equal(canary.status, 200);
    assert.equal(canary.json['model_version'], 'v000002');
    const canaryStatus = await call('/v1/models/ctr/labels/canary');
    assert.equal(
      (canaryStatus.json['model_version_status'] as { version: string }[])[0]?.version,
      '2',
    );
    // stable names v000001, which this replica (following latest) does not have loaded.
    const stable = await call('/v1/models/ctr/labels/stable:predict', body);
    assert.equal(stable.status, 404);
    assert.match(
      stable.json['error'] as string,
      /label stable .* names v000001, which is not loaded/,
    );
    const unknown = await call('/v1/models/ctr/labels/beta:predict', body);
    assert.equal(unknown.status, 400);
    assert.match(unknown.json['error'] as string, /Unrecognized servable version label: beta/);
  });

  it('labels set in the registry come first: a new label, and stable overridden, then deleted', async () => {
    const body = '{"instances": [{"dense": [1, 1], "sparse": ["a", "b"]}]}';
    await store.setLabel('ctr', 'gold', 'v000002' as ModelVersion, 'contract test');
    await store.setLabel('ctr', 'stable', 'v000002' as ModelVersion, 'contract test');
    const slot = service.slots.get('ctr');
    await until(() => slot?.labels.get('gold') === 'v000002', 10_000, 'the gold label');
    const gold = await call('/v1/models/ctr/labels/gold:predict', body);
    assert.deepEqual([gold.status, gold.json['model_version']], [200, 'v000002']);
    const stable = await call('/v1/models/ctr/labels/stable:predict', body);
    assert.deepEqual([stable.status, stable.json['model_version']], [200, 'v000002']);
    const status = await call('/v1/models/ctr');
    assert.deepEqual((status.json['agp'] as { labels: Record<string, string> }).labels, {
      gold: 'v000002',
      stable: 'v000002',
      canary: 'v000002',
    });
    const goldStatus = await call('/v1/models/ctr/labels/gold');
    assert.equal(
      (goldStatus.json['model_version_status'] as { version: string }[])[0]?.version,
      '2',
    );
    await store.deleteLabel('ctr', 'gold');
    await store.deleteLabel('ctr', 'stable');
    await until(() => slot?.labels.get('stable') === 'v000001', 10_000, 'stable back to v1');
    const gone = await call('/v1/models/ctr/labels/gold:predict', body);
    assert.equal(gone.status, 400);
    assert.match(gone.json['error'] as string, /Unrecognized servable version label: gold/);
  });

  it('errors are {"error": ...} with TF Serving status codes', async () => {
    const cases: [string, string | undefined, number, RegExp][] = [
      ['/v1/models/nope:predict', '{"instances": []}', 404, /Servable not found/],
      ['/v1/models/ctr/versions/9:predict', '{"instances": [{}]}', 404, /Servable not found/],
      ['/v1/models/ctr:predict', '{"instances": [{"dense": [1]}]}', 400, /instances\.0\.dense/],
      ['/v1/models/ctr:predict', '{"instances": [', 400, /not valid JSON/],
      ['/v1/models/ctr:classify', '{"examples": [{}]}', 400, /no classification signature/],
      ['/v1/models/nope', undefined, 404, /not served here/],
      ['/v1/models/ctr/metadata/extra', undefined, 404, /no route/],
    ];
    for (const [path, body, status, message] of cases) {
      const reply = await call(path, body);
      assert.equal(reply.status, status, `${path}: ${JSON.stringify(reply.json)}`);
      assert.equal(typeof reply.json['error'], 'string', path);
      assert.match(reply.json['error'] as string, message, path);
      assert.equal(reply.json['statusCode'], undefined, path);
      assert.equal(reply.json['message'], undefined, path);
    }
  });
});
