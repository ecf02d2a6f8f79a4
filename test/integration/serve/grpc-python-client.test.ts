import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelVersion } from '../../../schemas/manifest';
import { initBackend } from '../../../src/model/backend';
import { openFsRegistry, type FsRegistryStore } from '../../../src/registry/fs-store';
import { createScoringService, type ScoringService } from '../../../src/serve/scoring-service';
import { parseServedModel } from '../../../src/serve/version-policy';
import { publishModel, until } from './helpers';
import { ensurePythonClientVenv, pythonClientSkipReason, runPython } from './python-client-venv';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface ClientReport {
  predict: { probability: number[]; version: number };
  canary: { probability: number[]; version: number };
  gold: { probability: number[]; version: number };
  old: { code: string; details: string };
  pinned: { code: string; details: string };
  unknown_model: { code: string; details: string };
  bad_shape: { code: string; details: string };
  metadata: {
    version: number;
    method_name: string;
    inputs: Record<string, { dtype: string; shape: number[]; name: string }>;
    outputs: Record<string, string>;
  };
  status: { version: number; state: string; error_code: number }[];
  metrics: Record<string, Sample[]>;
}

/**
 * Issue 25: TF Serving's official Python client (tensorflow-serving-api from the package index)
 * talks to agp serve's gRPC port unchanged, and Prometheus' own parser reads /metrics.
 */
describe('agp serve with the official TF Serving Python client (gRPC) and Prometheus parser', () => {
  const skip = pythonClientSkipReason();
  let python = '';
  let root: string;
  let store: FsRegistryStore;
  let service: ScoringService;
  let url: string;
  let grpcPort: number;

  before(async () => {
    if (skip !== undefined) return;
    python = ensurePythonClientVenv();
    await initBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'agp-serve-grpc-'));
    store = await openFsRegistry({ root });
    await publishModel(store, 'ctr', 1);
    await publishModel(store, 'ctr', 2);
    service = await createScoringService({
      store,
      models: [parseServedModel('ctr'), parseServedModel('other')],
      pollMs: 100,
      graceMs: 0,
      log: () => undefined,
    });
    url = await service.listen(0);
    grpcPort = await service.listenGrpc(0);
    await until(() => service.slots.get('ctr')?.current?.version === 'v000002', 20_000, 'v2');
    // Labels set in the registry (agp registry label), read by the next poll.
    await store.setLabel('ctr', 'gold', 'v000002' as ModelVersion);
    await store.setLabel('ctr', 'old', 'v000001' as ModelVersion);
    await until(() => service.slots.get('ctr')?.labels.has('old') === true, 10_000, 'labels');
  });

  after(async () => {
    if (skip !== undefined) return;
    await service.close();
    await rm(root, { recursive: true, force: true });
  });

  it(
    'Predict, GetModelMetadata, GetModelStatus answer as TF Serving; /metrics parses',
    { skip },
    async () => {
      // The REST answer for the same tensors (NaN as TF Serving's token; the big id as text).
      const rest = await fetch(`${url}/v1/models/ctr:predict`, {
        method: 'POST',
        body: `{"inputs": {"dense": [[3, -0.5], [NaN, 0.25], [40, 2]], "sparse": [["user-1", "4"], ["", "9007199254740993"], ["${'x'.repeat(300)}", "2"]]}}`,
      });
      assert.equal(rest.status, 200);
      const wanted = ((await rest.json()) as { outputs: number[] }).outputs;

      const report = JSON.parse(
        await runPython(python, join(__dirname, 'tfserving_client.py'), [
          `127.0.0.1:${grpcPort}`,
          url,
          'ctr',
        ]),
      ) as ClientReport;

      assert.equal(report.predict.version, 2);
      assert.equal(report.predict.probability.length, 3);
      report.predict.probability.forEach((p, i) =>
        assert.ok(Math.abs(p - wanted[i]!) <= 1e-6, `row ${i}: gRPC ${p} vs REST ${wanted[i]}`),
      );
      assert.deepEqual(report.canary, report.predict);
      assert.deepEqual(report.gold, report.predict);
      assert.equal(report.old.code, 'NOT_FOUND');
      assert.match(
        report.old.details,
        /label old of model 'ctr' names v000001, which is not loaded/,
      );
      // Version 1 was replaced and unloaded (grace 0): NOT_FOUND, as TF Serving answers.
      assert.equal(report.pinned.code, 'NOT_FOUND');
      assert.equal(report.unknown_model.code, 'NOT_FOUND');
      assert.match(report.unknown_model.details, /model 'nope' is not served here/);
      assert.equal(report.bad_shape.code, 'INVALID_ARGUMENT');
      assert.match(report.bad_shape.details, /instances\.0\.dense: expected 2 values/);

      assert.deepEqual(report.metadata, {
        version: 2,
        method_name: 'tensorflow/serving/predict',
        inputs: {
          dense: { dtype: 'float32', shape: [-1, 2], name: 'dense:0' },
          sparse: { dtype: 'string', shape: [-1, 2], name: 'sparse:0' },
        },
        outputs: { probability: 'float32' },
      });
      assert.deepEqual(report.status, [{ version: 2, state: 'AVAILABLE', error_code: 0 }]);

      // Prometheus' parser: bounded labels, the version as an info metric, every series at 0 from
      // the start, and prom-client's process and Node.js metrics.
      const m = report.metrics;
      const requests = m['agp_serve_requests'] ?? [];
      assert.ok(requests.length > 0, Object.keys(m).join(', '));
      for (const s of requests) assert.deepEqual(Object.keys(s.labels).sort(), ['model', 'status']);
      const count = (model: string, status: string) =>
        requests.find(
          (s) =>
            s.name === 'agp_serve_requests_total' &&
            s.labels['model'] === model &&
            s.labels['status'] === status,
        )?.value;
      assert.equal(count('ctr', '200'), 1);
      assert.equal(count('other', '408'), 0);
      assert.equal(count('(unknown)', '413'), 0);
      assert.deepEqual(
        (m['agp_model_version_info'] ?? []).map((s) => [s.labels, s.value]),
        [[{ model: 'ctr', version: 'v000002' }, 1]],
      );
      const grpcCalls = m['agp_serve_grpc_requests'] ?? [];
      const calls = (method: string, code: string) =>
        grpcCalls.find(
          (s) =>
            s.name === 'agp_serve_grpc_requests_total' &&
            s.labels['model'] === 'ctr' &&
            s.labels['method'] === method &&
            s.labels['code'] === code,
        )?.value;
      // predict, canary, gold; pinned and old (the unknown model is counted as '(unknown)').
      assert.equal(calls('Predict', 'OK'), 3);
      assert.equal(calls('Predict', 'NOT_FOUND'), 2);
      assert.equal(calls('GetModelStatus', 'OK'), 1);
      assert.equal(calls('GetModelMetadata', 'INTERNAL'), 0);
      for (const family of [
        'process_cpu_seconds',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
        'nodejs_heap_size_used_bytes',
      ]) {
        assert.ok(m[family] !== undefined, `${family} missing`);
      }
    },
  );
});
