import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelState, ModelVersion } from '../../../schemas/manifest';
import { ConfigError } from '../../../src/errors';
import { checkLabel, relabel } from '../../../src/registry/labels';

const v = (n: number) => `v${String(n).padStart(6, '0')}` as ModelVersion;
const event = (action: 'label' | 'unlabel', version: ModelVersion) => ({
  at: '2026-12-07T00:00:00.000Z',
  action,
  version,
});
const empty: ModelState = { v: 1, promoted: [v(1)], discarded: [], labels: {}, history: [] };

describe('registry labels', () => {
  it('checkLabel takes a letter then letters, digits, ".", "_", "-"; anything else names the label', () => {
    for (const ok of ['stable', 'gold', 'a', 'exp_2.b-c', 'X'.repeat(64)]) {
      assert.equal(checkLabel('m', ok), ok);
    }
    for (const bad of ['', '1', '7up', '-a', 'a b', 'a/b', 'X'.repeat(65)]) {
      assert.throws(
        () => checkLabel('m', bad),
        (e: unknown) => e instanceof ConfigError && e.message.includes(`invalid label '${bad}'`),
      );
    }
  });

  it('relabel sets, moves and removes a label, recording each change; other state is kept', () => {
    const set = relabel('m', empty, 'gold', v(2), event, 10);
    assert.deepEqual(set.labels, { gold: v(2) });
    assert.deepEqual(set.promoted, [v(1)]);
    const moved = relabel('m', set, 'gold', v(3), event, 10);
    assert.deepEqual(moved.labels, { gold: v(3) });
    const removed = relabel('m', moved, 'gold', null, event, 10);
    assert.deepEqual(removed.labels, {});
    assert.deepEqual(
      removed.history.map((e) => [e.action, e.label, e.version]),
      [
        ['label', 'gold', v(2)],
        ['label', 'gold', v(3)],
        ['unlabel', 'gold', v(3)],
      ],
    );
    assert.throws(() => relabel('m', removed, 'gold', null, event, 10), /m has no label 'gold'/);
    assert.equal(relabel('m', removed, 'x', v(1), event, 2).history.length, 2, 'history bounded');
  });
});
