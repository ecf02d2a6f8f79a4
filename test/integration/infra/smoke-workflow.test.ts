import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { parseInfraConfig } from '../../../src/config/env';
import { smokeTest } from '../../../workflows';
import { createWorker, installQuietRuntime } from '../../../worker/create-worker';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';

describe('smokeTest workflow (real Temporal dev server, real Kafka)', () => {
  const config = parseInfraConfig();
  let connection: Connection;
  let client: Client;

  before(async () => {
    installQuietRuntime();
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
  });

  after(async () => {
    await connection.close();
  });

  it('runs on a worker, round-trips Kafka messages and tags itself AgpPhase=smoke', async () => {
    const taskQueue = `test-smoke-${randomUUID()}`;
    const workflowId = `test-smoke-${randomUUID()}`;
    const { worker, close } = await createWorker(config, { taskQueue });
    try {
      const result = await worker.runUntil(
        client.workflow.execute(smokeTest, { taskQueue, workflowId, args: [{ messages: 50 }] }),
      );
      assert.equal(result.produced, 50);
      assert.equal(result.consumed, 50);
      assert.equal(result.committed, 50);
      assert.equal(result.partitions, 3);

      const description = await client.workflow.getHandle(workflowId).describe();
      assert.equal(description.status.name, 'COMPLETED');
      const phase = defineSearchAttributeKey('AgpPhase', SearchAttributeType.KEYWORD);
      assert.equal(description.typedSearchAttributes.get(phase), 'smoke');
    } finally {
      await close();
    }
  });
});
