import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PublishStep } from '../../../src/registry/fs-publish';
import { openFsRegistry } from '../../../src/registry/fs-store';
import { PublishConflictError } from '../../../src/registry/conflict';
import { names, offlineFields, smallFiles, tempRoot } from './helpers';

class Crash extends Error {}

/** A fault hook that "crashes" the publish the `nth` time it reaches `step`. */
function crashAt(step: PublishStep, nth = 1) {
  let seen = 0;
  return (at: PublishStep): void => {
    if (at === step && ++seen === nth) throw new Crash(`crash at ${step}`);
  };
}

describe('atomic publish under injected crashes', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  const invisible: [PublishStep, number][] = [
    ['staging-created', 1],
    ['file-written', 1],
    ['file-written', 2],
    ['files-synced', 1],
    ['manifest-written', 1],
  ];
  for (const [step, nth] of invisible) {
    it(`a crash at ${step}#${nth} leaves no visible version, and the next publish is fine`, async () => {
      const model = `m-${step}-${nth}`;
      const healthy = await openFsRegistry({ root });
      await healthy.publish(model, smallFiles('base'), offlineFields());
      const crashing = await openFsRegistry({ root }, { faults: crashAt(step, nth) });
      await assert.rejects(crashing.publish(model, smallFiles('lost'), offlineFields()), Crash);

      // Nothing visible: same versions, same latest, the listing is unchanged.
      assert.deepEqual(await names(join(root, model, 'versions')), ['v000001']);
      assert.equal(await healthy.latest(model), 'v000001');
      assert.equal((await healthy.list(model))[0]?.versions.length, 1);
      // What a crash leaves is only in staging, and the next open cleans it.
      assert.equal((await names(join(root, model, '.staging'))).length, 1);
      const reopened = await openFsRegistry({ root });
      assert.deepEqual(await names(join(root, model, '.staging')), []);

      const next = await reopened.publish(model, smallFiles('next'), offlineFields());
      assert.equal(next.version, 'v000002');
      assert.equal(next.parent, 'v000001');
      assert.equal(await reopened.latest(model), 'v000002');
      await reopened.verify(model, 'v000002' as typeof next.version);
    });
  }

  it('a crash after the rename leaves a complete version that recovery makes latest', async () => {
    const model = 'm-renamed';
    const healthy = await openFsRegistry({ root });
    await healthy.publish(model, smallFiles('base'), offlineFields());
    const crashing = await openFsRegistry({ root }, { faults: crashAt('version-renamed') });
    await assert.rejects(crashing.publish(model, smallFiles('done'), offlineFields()), Crash);
    const manifest = await healthy.verify(model, 'v000002' as never);
    assert.equal(manifest.parent, 'v000001');
    assert.equal(await healthy.latest(model), 'v000001');
    // Recovery completes the crashed publish: left as it was, a retry resuming from latest
    // would train v000002's events again in a sibling of it.
    assert.equal(await (await openFsRegistry({ root })).latest(model), 'v000002');
    // A publisher that still believes v000001 is latest is fenced off.
    await assert.rejects(
      healthy.publish(model, smallFiles('stale'), { ...offlineFields(), parent: 'v000001' }),
      PublishConflictError,
    );
    // The next publish takes the next number, as v000002's child, and moves latest.
    const next = await healthy.publish(model, smallFiles('next'), offlineFields());
    assert.equal(next.version, 'v000003');
    assert.equal(next.parent, 'v000002');
    assert.equal(await healthy.latest(model), 'v000003');
  });

  it('recovery does not undo a rollback', async () => {
    const model = 'm-rolled-back';
    const store = await openFsRegistry({ root });
    await store.publish(model, smallFiles('a'), offlineFields());
    await store.publish(model, smallFiles('b'), offlineFields());
    await store.rollback(model, 'v000001' as never, 'bad model');
    assert.equal(await (await openFsRegistry({ root })).latest(model), 'v000001');
  });

  it('a crash while holding the lock does not wedge the model', async () => {
    const model = 'm-latest';
    const crashing = await openFsRegistry({ root }, { faults: crashAt('latest-moved') });
    await assert.rejects(crashing.publish(model, smallFiles('a'), offlineFields()), Crash);
    const store = await openFsRegistry({ root });
    assert.equal(await store.latest(model), 'v000001');
    await store.publish(model, smallFiles('b'), offlineFields());
    assert.equal(await store.latest(model), 'v000002');
  });
});

/** Runs the child publisher; resolves with its process and a promise of its stdout. */
function child(args: string[]) {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'publish-child.ts'), ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; out: string }>(
    (resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', () => out.includes('READY') && resolve());
    proc.on('exit', () => reject(new Error(`publish child exited before READY: ${out}`)));
  });
  // Only the hang-at mode says READY; a publish-mode child exiting is no error for its caller.
  ready.catch(() => undefined);
  return { proc, exited, ready };
}

describe('real crashes and real concurrent processes', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => ({ root, dispose } = await tempRoot()));
  after(() => dispose());

  it('a publisher SIGKILLed mid-write leaves nothing visible; the next open cleans up', async () => {
    const store = await openFsRegistry({ root });
    await store.publish('k', smallFiles('base'), offlineFields());
    const c = child([root, 'k', 'hang-at', 'file-written']);
    await c.ready;
    c.proc.kill('SIGKILL');
    assert.equal((await c.exited).signal, 'SIGKILL');
    assert.deepEqual(await names(join(root, 'k', 'versions')), ['v000001']);
    assert.equal((await names(join(root, 'k', '.staging'))).length, 1);
    const reopened = await openFsRegistry({ root });
    assert.deepEqual(await names(join(root, 'k', '.staging')), []);
    assert.equal(
      (await reopened.publish('k', smallFiles('n'), offlineFields())).version,
      'v000002',
    );
  });

  it('two processes publishing at once never get the same version', async () => {
    const [a, b] = [child([root, 'p', 'publish', '6']), child([root, 'p', 'publish', '6'])];
    const results = await Promise.all([a.exited, b.exited]);
    const versions = results.flatMap((r) => {
      assert.equal(r.code, 0);
      return JSON.parse(r.out) as string[];
    });
    assert.equal(new Set(versions).size, 12);
    const store = await openFsRegistry({ root });
    assert.equal(await store.latest('p'), 'v000012');
    const [listing] = await store.list('p');
    assert.equal(listing?.versions.length, 12);
    for (const s of listing?.versions ?? []) await store.verify('p', s.version);
  });
});
