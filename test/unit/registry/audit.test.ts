import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Manifest } from '../../../schemas/manifest';
import { auditChain } from '../../../src/registry/audit';

/** A recurring manifest of partition 0 of topic `t`, offsets [from, to). */
function version(n: number, parent: number | null, from: number, to: number): Manifest {
  return Manifest.parse({
    v: 1,
    model: 'm',
    version: `v${String(n).padStart(6, '0')}`,
    parent: parent === null ? null : `v${String(parent).padStart(6, '0')}`,
    phase: 'recurring',
    configHash: 'h',
    dataRange: {
      kind: 'recurring',
      fromOffsets: { t: { '0': from } },
      toOffsets: { t: { '0': to } },
      eventTime: null,
    },
    metrics: {},
    createdAt: '2026-12-01T00:00:00.000Z',
    files: [],
  });
}

describe('auditChain', () => {
  it('accepts a straight chain that covers its offsets once', () => {
    const audit = auditChain([version(2, 1, 0, 10), version(3, 2, 10, 25), version(4, 3, 25, 30)]);
    assert.deepEqual(audit.problems, []);
    assert.deepEqual(audit.coverage, { 't/0': [0, 30] });
  });

  it('reports the fork of the Temporal outage: two children trained the same offsets', () => {
    const audit = auditChain([version(3, 2, 10, 20), version(4, 3, 20, 30), version(5, 3, 20, 32)]);
    assert.equal(audit.problems.length, 2);
    assert.match(audit.problems.join('\n'), /fork: v000003 has served children v000004, v000005/);
    assert.match(
      audit.problems.join('\n'),
      /overlap: t\/0 offsets \[20, 30\) are in v000004 and v000005/,
    );
  });

  it('reports offsets that no version holds', () => {
    const audit = auditChain([version(2, 1, 0, 10), version(3, 2, 12, 20)]);
    assert.deepEqual(audit.problems, [
      'gap: t/0 offsets [10, 12) are in no version (between v000002 and v000003)',
    ]);
  });

  it('lets a held version be a sibling of the served one when their ranges do not overlap', () => {
    const held = version(3, 2, 10, 20);
    const chain = [version(2, 1, 0, 10), held, version(4, 2, 20, 30)];
    assert.deepEqual(auditChain(chain, (m) => m === held).problems, []);
    assert.match(auditChain(chain).problems.join('\n'), /fork: v000002/);
  });
});
