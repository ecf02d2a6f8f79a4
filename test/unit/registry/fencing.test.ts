import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManifestFieldsInput, ModelVersion } from '../../../schemas/manifest';
import { ConfigError } from '../../../src/errors';
import { PublishConflictError } from '../../../src/registry/conflict';
import { openFsRegistry } from '../../../src/registry/fs-store';
import type { UnreadableVersion } from '../../../src/registry/store';
import { names, offlineFields, smallFiles, tempRoot } from './helpers';

/** Recurring fields over offsets [from, to) of partition 0 of topic `t`. */
function recurring(
  parent: ModelVersion,
  from: number,
  to: number,
  extra: Partial<ManifestFieldsInput> = {},
): ManifestFieldsInput {
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
    ...extra,
  };
}

const held = { gate: { held: true, reasons: ['ne regressed'], comparedWith: null } };

describe('registry fencing: compare-and-set on the served lineage', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('two concurrent publishers with the same parent: exactly one wins, the other gets a conflict', async () => {
    const [a, b] = await Promise.all([openFsRegistry({ root }), openFsRegistry({ root })]);
    const base = await a.publish('race', smallFiles('base'), offlineFields());
    const outcomes = await Promise.allSettled([
      a.publish('race', smallFiles('a'), recurring(base.version, 0, 100)),
      b.publish('race', smallFiles('b'), recurring(base.version, 0, 100)),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const error: unknown = lost[0]?.status === 'rejected' ? lost[0].reason : undefined;
    assert.ok(error instanceof PublishConflictError, String(error));
    assert.equal(error.kind, 'PublishConflict');
    assert.equal(error.retriable, true);
    assert.equal(error.expected, base.version);
    // The loser published nothing and left nothing staged.
    const [listing] = await a.list('race');
    assert.equal(listing?.versions.length, 2);
    assert.equal(listing?.latest, won[0]?.status === 'fulfilled' ? won[0].value.version : null);
    assert.deepEqual(await names(join(root, 'race', '.staging')), []);
  });

  it('a stale attempt (its parent is no longer latest) is refused instead of forking', async () => {
    const store = await openFsRegistry({ root });
    const base = await store.publish('stale', smallFiles('base'), offlineFields());
    const first = await store.publish('stale', smallFiles('1'), recurring(base.version, 0, 50));
    await assert.rejects(
      store.publish('stale', smallFiles('dup'), recurring(base.version, 0, 60)),
      (e: unknown) =>
        e instanceof PublishConflictError &&
        e.actual === first.version &&
        /expected the head of the served lineage to be v000001, but it is v000002/.test(e.message),
    );
    assert.equal(await store.latest('stale'), first.version);
  });

  it('a held version does not move latest; the next version must expect it as head', async () => {
    const store = await openFsRegistry({ root });
    const good = await store.publish('gate', smallFiles('g'), offlineFields());
    const h1 = await store.publish('gate', smallFiles('h1'), recurring(good.version, 0, 10, held));
    assert.equal(await store.latest('gate'), good.version);
    assert.equal(await store.head('gate'), h1.version);
    // Not knowing about the held version is being stale: its offsets would be trained twice.
    await assert.rejects(
      store.publish('gate', smallFiles('x'), recurring(good.version, 0, 20)),
      PublishConflictError,
    );
    const h2 = await store.publish(
      'gate',
      smallFiles('h2'),
      recurring(good.version, 10, 20, held),
      { expect: h1.version },
    );
    assert.equal(await store.head('gate'), h2.version);
    const [listing] = await store.list('gate');
    assert.deepEqual(
      listing?.versions.map((s) => [s.version, s.held, s.latest]),
      [
        [good.version, false, true],
        [h1.version, true, false],
        [h2.version, true, false],
      ],
    );
    // Only the newest held version can be promoted; a discarded one never.
    await assert.rejects(store.promote('gate', h1.version), /only the newest held child/);
    await store.discard('gate', h1.version, 'mislabelled burst');
    assert.deepEqual((await store.state('gate')).discarded, [h1.version]);
    await assert.rejects(store.discard('gate', good.version), ConfigError);
    await store.promote('gate', h2.version, 'operator checked it');
    assert.equal(await store.latest('gate'), h2.version);
    // A window still training from the old parent cannot publish beside the promoted version.
    await assert.rejects(
      store.publish('gate', smallFiles('y'), recurring(good.version, 20, 30), {
        expect: h2.version,
      }),
      (e: unknown) =>
        e instanceof PublishConflictError && /expected latest to be v0+\d/.test(e.message),
    );
    assert.equal((await store.list('gate'))[0]?.versions[2]?.held, false);
    const next = await store.publish('gate', smallFiles('n'), recurring(h2.version, 20, 30));
    assert.equal(await store.latest('gate'), next.version);
  });

  it('a new lineage is a standby until its first child is handed over with a CAS', async () => {
    const store = await openFsRegistry({ root });
    const served = await store.publish('hand', smallFiles('s'), offlineFields());
    const daily = await store.publish(
      'hand',
      smallFiles('d'),
      offlineFields(0.7, { parent: null }),
    );
    assert.equal(await store.latest('hand'), served.version);
    // Hand-over: the child of the standby replaces the served head only if it is still the head.
    await assert.rejects(
      store.publish('hand', smallFiles('c'), recurring(daily.version, 0, 5), {
        expect: daily.version,
      }),
      PublishConflictError,
    );
    const child = await store.publish('hand', smallFiles('c'), recurring(daily.version, 0, 5), {
      expect: served.version,
    });
    assert.equal(await store.latest('hand'), child.version);
  });

  it('a version directory without a manifest is skipped and reported, not fatal to the listing', async () => {
    const store = await openFsRegistry({ root });
    await store.publish('damaged', smallFiles('ok'), offlineFields());
    await mkdir(join(root, 'damaged', 'versions', 'v000007', 'files'), { recursive: true });
    const problems: UnreadableVersion[] = [];
    const listings = await store.list(undefined, (p) => problems.push(p));
    assert.ok(listings.some((l) => l.model === 'gate'));
    const damaged = listings.find((l) => l.model === 'damaged');
    assert.deepEqual(
      damaged?.versions.map((s) => s.version),
      ['v000001'],
    );
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.name, 'v000007');
    assert.match(problems[0]?.problem ?? '', /manifest\.json is missing/);
    await assert.rejects(store.get('damaged', 'v000007' as ModelVersion), /is missing/);
  });
});
