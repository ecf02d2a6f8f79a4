import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInfraConfig } from '../../../src/config/env';
import { ConfigError } from '../../../src/errors';

describe('parseInfraConfig', () => {
  it('defaults to the embedded servers on the standard ports', () => {
    const c = parseInfraConfig({}, '/work/x');
    assert.deepEqual(c, {
      temporal: {
        address: '127.0.0.1:7233',
        namespace: 'default',
        embedded: true,
        port: 7233,
        uiPort: 8233,
        uiUrl: 'http://127.0.0.1:8233',
      },
      kafka: { brokers: ['127.0.0.1:9092'], embedded: true, port: 9092, controllerPort: 9093 },
      taskQueue: 'agp',
      dataDir: '/work/x/.data',
      secure: false,
    });
  });

  it('points at existing servers when TEMPORAL_ADDRESS and KAFKA_BROKERS are set', () => {
    const c = parseInfraConfig(
      {
        TEMPORAL_ADDRESS: 'temporal.prod:7233',
        TEMPORAL_NAMESPACE: 'ml-training',
        KAFKA_BROKERS: ' k1:9092, k2:9092 ,',
        AGP_TASK_QUEUE: 'agp-gpu',
        AGP_DATA_DIR: '/var/lib/agp',
      },
      '/work/x',
    );
    assert.equal(c.temporal.address, 'temporal.prod:7233');
    assert.equal(c.temporal.embedded, false);
    assert.equal(c.temporal.uiUrl, undefined);
    assert.equal(c.temporal.namespace, 'ml-training');
    assert.deepEqual(c.kafka.brokers, ['k1:9092', 'k2:9092']);
    assert.equal(c.kafka.embedded, false);
    assert.equal(c.taskQueue, 'agp-gpu');
    assert.equal(c.dataDir, '/var/lib/agp');
  });

  it('treats empty variables as unset', () => {
    const c = parseInfraConfig(
      { TEMPORAL_ADDRESS: '', KAFKA_BROKERS: '', AGP_TASK_QUEUE: '' },
      '/',
    );
    assert.equal(c.temporal.embedded, true);
    assert.equal(c.kafka.embedded, true);
    assert.equal(c.taskQueue, 'agp');
  });

  it('moves the embedded ports together with their addresses', () => {
    const c = parseInfraConfig(
      { AGP_TEMPORAL_PORT: '17233', AGP_TEMPORAL_UI_PORT: '18233', AGP_KAFKA_PORT: '19092' },
      '/',
    );
    assert.equal(c.temporal.address, '127.0.0.1:17233');
    assert.equal(c.temporal.uiUrl, 'http://127.0.0.1:18233');
    assert.deepEqual(c.kafka.brokers, ['127.0.0.1:19092']);
  });

  const bad: [string, Record<string, string>][] = [
    ['TEMPORAL_ADDRESS', { TEMPORAL_ADDRESS: 'localhost' }],
    ['KAFKA_BROKERS.1', { KAFKA_BROKERS: 'k1:9092,k2' }],
    ['KAFKA_BROKERS', { KAFKA_BROKERS: ' , ' }],
    ['TEMPORAL_NAMESPACE', { TEMPORAL_NAMESPACE: 'has space' }],
    ['AGP_KAFKA_PORT', { AGP_KAFKA_PORT: '70000' }],
    ['AGP_TEMPORAL_PORT', { AGP_TEMPORAL_PORT: 'abc' }],
  ];
  for (const [field, env] of bad) {
    it(`rejects a bad ${field} with a message naming it`, () => {
      assert.throws(
        () => parseInfraConfig(env, '/'),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.includes('invalid environment') &&
          error.message.split('\n').some((line) => line.startsWith(`${field}:`)),
      );
    });
  }
});
