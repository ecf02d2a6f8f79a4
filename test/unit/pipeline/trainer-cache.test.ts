import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadedVersion } from '../../../src/pipeline/model-version';
import { TrainerCache } from '../../../src/pipeline/trainer-cache';

/** A stand-in for a loaded version: only its version and whether it was disposed matter here. */
function loaded(version: string, disposed: string[]): LoadedVersion {
  return {
    manifest: { version },
    trainer: { dispose: () => void disposed.push(version) },
  } as unknown as LoadedVersion;
}

describe('trainer cache', () => {
  it('hands a kept trainer out once, for its exact version only', () => {
    const disposed: string[] = [];
    const cache = new TrainerCache();
    cache.keep('m', loaded('v000003', disposed));
    assert.equal(cache.take('m', 'v000003')?.manifest.version, 'v000003');
    assert.equal(cache.take('m', 'v000003'), undefined, 'taken: no longer there');
    cache.keep('m', loaded('v000004', disposed));
    assert.equal(cache.take('m', 'v000005'), undefined, 'another version is stale');
    assert.deepEqual(disposed, ['v000004']);
    assert.deepEqual(cache.models(), []);
  });

  it('keeps one trainer per model and at most `limit` models, disposing what it drops', () => {
    const disposed: string[] = [];
    const cache = new TrainerCache(2);
    cache.keep('a', loaded('a1', disposed));
    cache.keep('a', loaded('a2', disposed));
    cache.keep('b', loaded('b1', disposed));
    cache.keep('c', loaded('c1', disposed));
    assert.deepEqual(disposed, ['a1', 'a2']);
    assert.deepEqual(cache.models(), ['b', 'c']);
    cache.clear();
    assert.deepEqual(disposed, ['a1', 'a2', 'b1', 'c1']);
    const none = new TrainerCache(0);
    none.keep('a', loaded('x', disposed));
    assert.deepEqual(none.models(), []);
    assert.equal(disposed.at(-1), 'x');
    assert.throws(() => new TrainerCache(-1), RangeError);
  });
});
