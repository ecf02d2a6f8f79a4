import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { eventFields, FeatureSpec } from '../../../schemas/feature-spec';
import type { Manifest } from '../../../schemas/manifest';
import { clickToServedSamples } from '../../../bench/serve/freshness';
import { encodePredictRequests, grpcLoad } from '../../../bench/serve/grpc-load';
import { loadTfServingServices } from '../../../src/serve/grpc/load-protos';
import {
  numberRows,
  stringRows,
  type TensorProtoMessage,
} from '../../../src/serve/grpc/tensor-proto';

const spec = FeatureSpec.parse({
  dense: [{ name: 'd0' }, { name: 'd1' }],
  sparse: [
    { name: 'c0', buckets: 100 },
    { name: 'c1', buckets: 100 },
  ],
});

describe('bench:serve gRPC requests', () => {
  it('carry the same records as the REST cells, as the signature tensors in metadata order', () => {
    const records = [
      [
        { dense: { d0: 3, d1: null }, sparse: { c0: 'ab', c1: null } },
        { dense: { d1: 2.5 }, sparse: { c1: 7 } },
      ],
    ];
    const [encoded] = encodePredictRequests('m', spec, records);
    const predict = loadTfServingServices().predictionService['Predict'];
    const decoded = predict?.requestDeserialize(encoded as Buffer) as {
      model_spec: { name: string };
      inputs: Record<string, TensorProtoMessage>;
    };
    assert.equal(decoded.model_spec.name, 'm');
    assert.deepEqual(eventFields(spec), { dense: ['d0', 'd1'], sparse: ['c0', 'c1'] });
    const dense = numberRows('dense', decoded.inputs['dense'] as TensorProtoMessage);
    assert.deepEqual(dense, [
      [3, Number.NaN],
      [Number.NaN, 2.5],
    ]);
    assert.deepEqual(stringRows('sparse', decoded.inputs['sparse'] as TensorProtoMessage), [
      ['ab', ''],
      ['', '7'],
    ]);
  });

  it('grpcLoad keeps calls in flight against a real gRPC server and counts failed statuses', async () => {
    const { predictionService } = loadTfServingServices();
    const server = new grpc.Server();
    let calls = 0;
    server.addService(predictionService, {
      Predict: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        calls++;
        if (calls % 4 === 0) callback({ code: grpc.status.UNAVAILABLE, details: 'test' });
        else callback(null, { outputs: {} });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    try {
      const result = await grpcLoad({
        address: `127.0.0.1:${port}`,
        requests: encodePredictRequests('m', spec, [[{ dense: {}, sparse: {} }]]),
        concurrency: 4,
        seconds: 0.5,
        timeoutSeconds: 5,
      });
      assert.ok(result.requestsPerSecond > 0);
      assert.ok(result.errors > 0 && result.errors <= Math.ceil(calls / 4));
      assert.ok(result.p50Ms <= result.p99Ms);
    } finally {
      server.forceShutdown();
    }
  });
});

describe('bench:serve click → served samples', () => {
  const version = (v: string, to: Record<string, number>) =>
    ({
      version: v,
      dataRange: {
        kind: 'recurring',
        fromOffsets: {},
        toOffsets: { t: Object.fromEntries(Object.entries(to).map(([p, o]) => [p, String(o)])) },
        eventTime: null,
      },
    }) as unknown as Manifest;

  it('times each sample to the first serving of a version whose end offsets contain it', () => {
    const recurring = [
      version('v000002', { '0': 10, '1': 5 }),
      version('v000003', { '0': 20, '1': 9 }),
    ];
    const served = new Map([
      ['v000002', 5_000],
      ['v000003', 9_000],
    ]);
    const samples = clickToServedSamples(
      [
        { partition: '0', offset: 0, sentAt: 1_000 }, // in v2 → 4 s
        { partition: '0', offset: 10, sentAt: 2_000 }, // end offsets are exclusive: v3 → 7 s
        { partition: '1', offset: 8, sentAt: 3_000 }, // v3 → 6 s
        { partition: '1', offset: 9, sentAt: 4_000 }, // in no version: not counted
        { partition: '2', offset: 0, sentAt: 4_000 }, // a partition no version read
      ],
      't',
      recurring,
      served,
    );
    assert.deepEqual(samples, [4, 7, 6]);
  });

  it('a version superseded before it was served counts its successor', () => {
    const samples = clickToServedSamples(
      [{ partition: '0', offset: 3, sentAt: 0 }],
      't',
      [version('v000002', { '0': 5 }), version('v000003', { '0': 9 })],
      new Map([['v000003', 2_500]]),
    );
    assert.deepEqual(samples, [2.5]);
  });
});
