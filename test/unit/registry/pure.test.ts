import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Manifest, ManifestFields, ModelVersion } from '../../../schemas/manifest';
import { hashConfig } from '../../../src/registry/config-hash';
import { expiredVersions } from '../../../src/registry/retention';
import { compareVersions, formatVersion, versionNumber } from '../../../src/registry/version';

const v = (n: number): ModelVersion => formatVersion(n);

describe('version ids', () => {
  it('are zero-padded, parse back and order numerically past six digits', () => {
    assert.equal(v(1), 'v000001');
    assert.equal(v(1234567), 'v1234567');
    assert.equal(versionNumber(v(42)), 42);
    const sorted = [v(1234567), v(2), v(999999)].sort(compareVersions);
    assert.deepEqual(sorted, [v(2), v(999999), v(1234567)]);
    assert.throws(() => formatVersion(0), RangeError);
    assert.equal(ModelVersion.safeParse('v12').success, false);
  });
});

describe('retention', () => {
  const all = [1, 2, 3, 4, 5, 6, 7].map(v);
  it('keeps the newest K, every promoted version and latest', () => {
    assert.deepEqual(expiredVersions(all, 3, { promoted: [], latest: v(7) }), [
      v(4),
      v(3),
      v(2),
      v(1),
    ]);
    assert.deepEqual(expiredVersions(all, 3, { promoted: [v(2)], latest: v(1) }), [v(4), v(3)]);
    assert.deepEqual(expiredVersions(all, 10, { promoted: [], latest: null }), []);
  });
  it('does not depend on the input order', () => {
    const shuffled = [v(5), v(1), v(7), v(3), v(2), v(6), v(4)];
    assert.deepEqual(expiredVersions(shuffled, 5, { promoted: [], latest: v(7) }), [v(2), v(1)]);
  });
});

describe('manifest schema', () => {
  const recurring = {
    phase: 'recurring',
    configHash: 'sha256:x',
    dataRange: {
      kind: 'recurring',
      fromOffsets: { clicks: { '0': 0, '1': '10' } },
      toOffsets: { clicks: { '0': 120, '1': '130' } },
      eventTime: { min: Date.UTC(2026, 0, 1), max: '2026-01-01T00:05:00.000Z' },
    },
    metrics: { ne: 0.8, events: 240 },
  };
  it('normalises offsets to strings and event times to ISO', () => {
    const fields = ManifestFields.parse(recurring);
    assert.equal(fields.dataRange.kind, 'recurring');
    if (fields.dataRange.kind !== 'recurring') return;
    assert.deepEqual(fields.dataRange.fromOffsets, { clicks: { '0': '0', '1': '10' } });
    assert.equal(fields.dataRange.eventTime?.min, '2026-01-01T00:00:00.000Z');
  });
  it('names the bad field', () => {
    const bad = ManifestFields.safeParse({ ...recurring, phase: 'offline', metrics: { ne: NaN } });
    assert.equal(bad.success, false);
    const paths = bad.error?.issues.map((i) => i.path.join('.')) ?? [];
    assert.ok(paths.includes('metrics.ne'), paths.join());
    const mismatch = ManifestFields.safeParse({ ...recurring, phase: 'offline' });
    assert.deepEqual(
      mismatch.error?.issues.map((i) => i.path.join('.')),
      ['dataRange.kind'],
    );
    const negative = ManifestFields.safeParse({
      ...recurring,
      dataRange: { ...recurring.dataRange, toOffsets: { clicks: { '0': -1 } } },
    });
    assert.equal(negative.success, false);
  });
  it('rejects an unknown manifest format version', () => {
    assert.equal(Manifest.safeParse({ v: 2 }).success, false);
  });
});

describe('hashConfig', () => {
  it('ignores key order and undefined members, and sees every value', () => {
    const a = hashConfig({ lr: 0.1, mlp: { bottom: [512, 256], top: [1] }, seed: 1 });
    const b = hashConfig({ seed: 1, mlp: { top: [1], bottom: [512, 256] }, lr: 0.1, x: undefined });
    assert.equal(a, b);
    assert.match(a, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(a, hashConfig({ lr: 0.1, mlp: { bottom: [512, 128], top: [1] }, seed: 1 }));
  });
});
