import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelVersion, type Manifest } from '../../../schemas/manifest';
import { entriesAfter, watchTarget, watchVerdict } from '../../../src/pipeline/watch-served';
import type { HeldBackEntry } from '../../../src/stream/held-back-slice';
import { event } from '../stream/fixtures';

const v = (s: string) => ModelVersion.parse(s);

/** A recurring manifest that trained `t` partition 0 up to `end`. */
function recurring(
  version: string,
  parent: string | null,
  end: number,
  extra: Partial<Manifest> = {},
): Manifest {
  return {
    v: 1,
    model: 'm',
    version: v(version),
    parent: parent === null ? null : v(parent),
    phase: 'recurring',
    configHash: 'h',
    dataRange: {
      kind: 'recurring',
      fromOffsets: { t: { '0': '0' } },
      toOffsets: { t: { '0': String(end) } },
      eventTime: null,
      events: end,
    },
    metrics: {},
    createdAt: '2026-12-07T00:00:00.000Z',
    files: [],
    ...extra,
  } as Manifest;
}

const entries = (from: number, to: number, partition = 0): HeldBackEntry[] =>
  Array.from({ length: to - from }, (_, i) => ({
    topic: 't',
    partition,
    offset: from + i,
    event: event(from + i),
  }));

describe('watch after serving', () => {
  it('scores a served version only on held-back events consumed after it', () => {
    const slice = [...entries(0, 300), ...entries(0, 50, 1)];
    const after = entriesAfter(slice, { t: { '0': '200' } });
    // Partition 0 from offset 200 on; partition 1 is not in the version's range: all of it.
    assert.equal(after.length, 100 + 50);
    assert.ok(after.every((e) => e.partition === 1 || e.offset >= 200));
  });

  it('watches a trained recurring parent with enough newer events, nothing else', () => {
    const slice = entries(0, 400);
    const target = watchTarget(recurring('v000003', 'v000002', 250), slice);
    assert.ok(target);
    assert.equal(target.served, 'v000003');
    assert.equal(target.replaced, 'v000002');
    assert.equal(target.entries.length, 150);
    // Too few newer events (fewer than the gate's 100) — not yet.
    assert.equal(watchTarget(recurring('v000003', 'v000002', 350), slice), null);
    // An offline version or a revert is not watched (it replaced nothing by training).
    assert.equal(
      watchTarget({ ...recurring('v000001', null, 0), phase: 'offline' } as Manifest, slice),
      null,
    );
    const revert = recurring('v000004', 'v000003', 100, {
      revert: { of: v('v000003'), restores: v('v000002'), reason: 'r' },
    });
    assert.equal(watchTarget(revert, slice), null);
  });

  it('fails a served version significantly behind the one it replaced, with the figures', () => {
    const target = { served: v('v000003'), replaced: v('v000002'), entries: entries(0, 150) };
    const comparison = {
      count: 150,
      candidateNe: 0.95,
      baselineNe: 0.9,
      diff: 0.05,
      diffStdErr: 0.01,
      candidateCalibration: 1,
      baselineCalibration: 1,
      labelMeanRelStdErr: 0.1,
    };
    const reason = watchVerdict(target, comparison, 0.005, 0.01);
    assert.match(
      reason ?? '',
      /served v000003 fell behind v000002, the version it replaced: NE 0\.95000 vs 0\.90000 on 150 held-back events consumed after it \(z = 4\.55 > 2\.33/,
    );
    assert.equal(
      watchVerdict(target, { ...comparison, diffStdErr: 0.03 }, 0.005, 0.01),
      null,
      'noise',
    );
  });
});
