import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import type { ManifestFieldsInput, ModelVersion } from '../../../schemas/manifest';
import { DataError } from '../../../src/errors';
import { PublishConflictError } from '../../../src/registry/conflict';
import type { PublishFaults, PublishStep } from '../../../src/registry/fs-publish';
import type { RegistryStore } from '../../../src/registry/store';
import { offlineFields, smallFiles } from '../../unit/registry/helpers';

/** What the contract needs from a store under test, beyond the interface. */
export interface ContractHarness {
  /** A store over the shared location (several calls: several publishers, as separate processes). */
  open(options?: { faults?: PublishFaults; keep?: number }): Promise<RegistryStore>;
  /** Overwrites a committed version's file in the backing storage (simulated bit rot). */
  corrupt(store: RegistryStore, model: string, version: ModelVersion, path: string): Promise<void>;
}

let counter = 0;
/** A model name no other case of this run uses. */
function modelName(tag: string): string {
  counter += 1;
  return `c-${tag}-${process.pid}-${counter}`;
}

/** Manifest fields of a recurring version trained on offsets [from, to) of partition 0. */
export function recurring(parent: ModelVersion, from: number, to: number): ManifestFieldsInput {
  return {
    parent,
    phase: 'recurring',
    configHash: 'sha256:test',
    dataRange: {
      kind: 'recurring',
      fromOffsets: { t: { '0': from } },
      toOffsets: { t: { '0': to } },
      eventTime: null,
    },
    metrics: { ne: 0.8 },
  };
}

const HELD = { gate: { held: true, reasons: ['ne regressed'], comparedWith: null } };

const STEPS: PublishStep[] = [
  'staging-created',
  'file-written',
  'files-synced',
  'manifest-written',
];

/**
 * The registry contract every {@link RegistryStore} must keep, as `node:test` cases (call inside
 * a `describe`). The same cases run against the filesystem store and the S3 store.
 */
export function registryContract(h: ContractHarness): void {
  it('publishes immutable versions; fetch returns verified files', async () => {
    const store = await h.open();
    const model = modelName('basic');
    const a = await store.publish(model, smallFiles('a'), offlineFields(0.8));
    const b = await store.publish(model, smallFiles('bb'), offlineFields(0.7), {
      expect: a.version,
    });
    assert.deepEqual([a.version, b.version], ['v000001', 'v000002']);
    assert.equal(b.parent, a.version);
    assert.equal(await store.latest(model), b.version);
    const fetched = await store.fetch(model, 'latest');
    assert.equal(fetched.manifest.version, b.version);
    assert.equal(JSON.parse(await readFile(join(fetched.dir, 'meta.json'), 'utf8')).tag, 'bb');
    assert.equal(await readFile(join(fetched.dir, 'tables', 't0.bin'), 'utf8'), 'table-of-bb');
    assert.deepEqual((await store.get(model, a.version)).files, a.files);
  });

  it('concurrent publishers get distinct versions and never overwrite each other', async () => {
    const model = modelName('conc');
    const stores = await Promise.all([1, 2, 3, 4].map(() => h.open()));
    const published = await Promise.all(
      stores.map((s, i) =>
        s.publish(model, smallFiles(`p${'x'.repeat(i)}`), offlineFields(0.9 - i / 100)),
      ),
    );
    // Distinct ids (a lock-free store may skip a number a loser claimed and gave up).
    const versions = published.map((m) => m.version);
    assert.equal(new Set(versions).size, 4);
    const [listing] = await stores[0]!.list(model);
    assert.equal(listing?.versions.length, 4);
    for (const m of published) {
      // Each version still holds its own publisher's files.
      const fetched = await stores[0]!.fetch(model, m.version);
      assert.deepEqual(fetched.manifest.files, m.files);
      assert.equal(fetched.manifest.metrics['ne'], m.metrics['ne']);
    }
  });

  it('compare-and-set: of two publishers expecting the same head one wins, the other gets PublishConflictError and publishes nothing', async () => {
    const model = modelName('cas');
    const [a, b] = await Promise.all([h.open(), h.open()]);
    const base = await a!.publish(model, smallFiles('base'), offlineFields());
    const outcomes = await Promise.allSettled([
      a!.publish(model, smallFiles('a'), recurring(base.version, 0, 100)),
      b!.publish(model, smallFiles('b'), recurring(base.version, 0, 100)),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const error: unknown = lost[0]?.status === 'rejected' ? lost[0].reason : undefined;
    assert.ok(error instanceof PublishConflictError, String(error));
    assert.equal(error.expected, base.version);
    const [listing] = await a!.list(model);
    assert.equal(listing?.versions.length, 2);
    // A stale retry is refused too, and latest does not move.
    const winner = won[0]?.status === 'fulfilled' ? won[0].value.version : null;
    await assert.rejects(
      a!.publish(model, smallFiles('c'), recurring(base.version, 0, 120)),
      PublishConflictError,
    );
    assert.equal(await a!.latest(model), winner);
  });

  for (const step of STEPS) {
    it(`a crash at '${step}' leaves nothing visible, and the next publish succeeds`, async () => {
      const model = modelName(`crash-${step}`);
      const ok = await h.open();
      const base = await ok.publish(model, smallFiles('base'), offlineFields());
      const crashing = await h.open({
        faults: (at) => {
          if (at === step) throw new Error(`simulated crash at ${at}`);
        },
      });
      await assert.rejects(
        crashing.publish(model, smallFiles('lost'), recurring(base.version, 0, 10)),
        /simulated crash/,
      );
      const [listing] = await ok.list(model);
      assert.deepEqual(
        listing?.versions.map((v) => v.version),
        [base.version],
      );
      assert.equal(await ok.latest(model), base.version);
      assert.equal(await ok.head(model), base.version);
      const next = await ok.publish(model, smallFiles('next'), recurring(base.version, 0, 10));
      assert.equal(await ok.latest(model), next.version);
      assert.equal((await ok.fetch(model, next.version)).manifest.version, next.version);
    });
  }

  it('fetch and verify refuse a version whose stored file was corrupted', async () => {
    const store = await h.open();
    const model = modelName('rot');
    const m = await store.publish(model, smallFiles('rot'), offlineFields());
    await h.corrupt(store, model, m.version, 'weights.bin');
    await assert.rejects(store.fetch(model, m.version), (e: unknown) => {
      return (
        e instanceof DataError &&
        /checksum mismatch/.test(e.message) &&
        /weights\.bin/.test(e.message)
      );
    });
    await assert.rejects(store.verify(model, m.version), DataError);
  });

  it('retention keeps the newest `keep`, promoted versions and latest', async () => {
    const store = await h.open({ keep: 2 });
    const model = modelName('keep');
    const v1 = await store.publish(model, smallFiles('1'), offlineFields());
    await store.promote(model, v1.version, 'baseline');
    let parent = v1.version;
    for (let i = 0; i < 4; i += 1) {
      parent = (
        await store.publish(model, smallFiles(`n${i}`), recurring(parent, i * 10, i * 10 + 10))
      ).version;
    }
    const [listing] = await store.list(model);
    assert.deepEqual(
      listing?.versions.map((v) => v.version),
      ['v000001', 'v000004', 'v000005'],
    );
    assert.equal(listing?.versions[0]?.promoted, true);
    await assert.rejects(store.get(model, 'v000002' as ModelVersion), /has no version v000002/);
  });

  it('held versions: discard, promote (only the head), rollback', async () => {
    const store = await h.open();
    const model = modelName('gate');
    const v1 = await store.publish(model, smallFiles('1'), offlineFields());
    const v2 = await store.publish(model, smallFiles('2'), recurring(v1.version, 0, 10));
    const held = await store.publish(model, smallFiles('3'), {
      ...recurring(v2.version, 10, 20),
      ...HELD,
    });
    assert.equal(await store.latest(model), v2.version);
    assert.equal(await store.head(model), held.version);
    // The next version must expect the held head.
    await assert.rejects(
      store.publish(model, smallFiles('x'), recurring(v2.version, 20, 30)),
      PublishConflictError,
    );
    await store.discard(model, held.version, 'bad');
    await assert.rejects(store.promote(model, held.version), /was discarded/);
    const held2 = await store.publish(
      model,
      smallFiles('4'),
      { ...recurring(v2.version, 20, 30), ...HELD },
      { expect: held.version },
    );
    const state = await store.promote(model, held2.version, 'looked fine');
    assert.ok(state.promoted.includes(held2.version));
    assert.equal(await store.latest(model), held2.version);
    const back = await store.rollback(model, undefined, 'regression');
    assert.deepEqual(back, { from: held2.version, to: held.version });
    const to1 = await store.rollback(model, v1.version);
    assert.equal(to1.to, v1.version);
    assert.equal(await store.latest(model), v1.version);
    const history = (await store.state(model)).history.map((e) => e.action);
    assert.deepEqual(history, ['discard', 'promote', 'rollback', 'rollback']);
  });

  it('version labels: set atomically with the state, only on a version that exists and verifies, deleted', async () => {
    const store = await h.open();
    const model = modelName('label');
    const v1 = await store.publish(model, smallFiles('1'), offlineFields());
    const v2 = await store.publish(model, smallFiles('2'), recurring(v1.version, 0, 10));
    await store.promote(model, v1.version);
    const set = await store.setLabel(model, 'stable', v1.version, 'baseline');
    assert.deepEqual(set.labels, { stable: v1.version });
    await store.setLabel(model, 'canary', v2.version);
    // Moving a label replaces it; the other state is untouched.
    const moved = await store.setLabel(model, 'stable', v2.version);
    assert.deepEqual(moved.labels, { stable: v2.version, canary: v2.version });
    assert.deepEqual(moved.promoted, [v1.version]);
    await assert.rejects(
      store.setLabel(model, 'gold', 'v000009' as ModelVersion),
      (e: unknown) =>
        e instanceof Error &&
        /cannot label .* v000009 'gold'/.test(e.message) &&
        /has no version v000009/.test(e.message),
    );
    await assert.rejects(store.setLabel(model, '7up', v1.version), /invalid label '7up'/);
    await h.corrupt(store, model, v1.version, 'weights.bin');
    await assert.rejects(
      store.setLabel(model, 'gold', v1.version),
      (e: unknown) =>
        e instanceof DataError && /cannot label/.test(e.message) && /checksum/.test(e.message),
    );
    const deleted = await store.deleteLabel(model, 'canary', 'done');
    assert.deepEqual(deleted.labels, { stable: v2.version });
    await assert.rejects(store.deleteLabel(model, 'canary'), /has no label 'canary'.*stable/);
    const state = await store.state(model);
    assert.deepEqual(state.labels, { stable: v2.version });
    assert.deepEqual(
      state.history
        .filter((e) => e.action !== 'promote')
        .map((e) => [e.action, e.label, e.version]),
      [
        ['label', 'stable', v1.version],
        ['label', 'canary', v2.version],
        ['label', 'stable', v2.version],
        ['unlabel', 'canary', v2.version],
      ],
    );
  });

  it('daily candidates: a failed one is held beside latest, a passed one takes latest only from the version it was judged against', async () => {
    const store = await h.open();
    const model = modelName('daily');
    const v1 = await store.publish(model, smallFiles('1'), offlineFields());
    const judged = (passed: boolean, comparedWith: ModelVersion) => ({
      parent: null,
      judgement: {
        passed,
        comparedWith,
        on: 'test day 2025-06-04 (800 rows)',
        rows: 800,
        candidateNe: passed ? 0.77 : 1.01,
        servedNe: 0.77,
        diffStdErr: 0.01,
        tolerance: 0.1,
        reason: passed ? 'passed' : 'failed',
      },
      gate: { held: !passed, reasons: passed ? [] : ['failed'], comparedWith },
    });
    const failed = await store.publish(
      model,
      smallFiles('2'),
      offlineFields(1.01, judged(false, v1.version)),
    );
    assert.equal(await store.latest(model), v1.version, 'a failed candidate is never latest');
    assert.equal(await store.head(model), v1.version, 'nor part of the served lineage');
    assert.equal((await store.get(model, failed.version)).judgement?.passed, false);
    await store.verify(model, failed.version);
    const [listing] = await store.list(model);
    const row = listing?.versions.find((v) => v.version === failed.version);
    assert.equal(row?.held, true);
    assert.equal(row?.latest, false);
    const passed = await store.publish(
      model,
      smallFiles('3'),
      offlineFields(0.77, judged(true, v1.version)),
      {
        expect: v1.version,
      },
    );
    assert.equal(await store.latest(model), passed.version);
    // A candidate judged against a version that is no longer served publishes nothing.
    await assert.rejects(
      store.publish(model, smallFiles('4'), offlineFields(0.7, judged(true, v1.version)), {
        expect: v1.version,
      }),
      PublishConflictError,
    );
    assert.equal(await store.latest(model), passed.version);
  });
}
