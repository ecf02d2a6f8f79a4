import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/errors';
import { registryLocationFromEnv } from '../../../src/registry/open-registry';

describe('registryLocationFromEnv', () => {
  it('defaults to the filesystem registry under the data directory', () => {
    const location = registryLocationFromEnv('/data', {});
    assert.equal(location.kind, 'fs');
    assert.equal(location.kind === 'fs' && location.root, '/data/registry');
  });

  it('a --root flag wins over AGP_REGISTRY; a plain AGP_REGISTRY is a directory', () => {
    const env = { AGP_REGISTRY: 's3://b-1/p' };
    assert.deepEqual(registryLocationFromEnv('/d', env, '/r').kind, 'fs');
    const dir = registryLocationFromEnv('/d', { AGP_REGISTRY: '/srv/reg' });
    assert.equal(dir.kind === 'fs' && dir.root, '/srv/reg');
  });

  it('s3://bucket/prefix selects S3 with the standard AWS variables and path style for an endpoint', () => {
    const location = registryLocationFromEnv('/d', {
      AGP_REGISTRY: 's3://agp-models/team/reg/',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-west-1',
    });
    assert.equal(location.kind, 's3');
    if (location.kind !== 's3') return;
    assert.equal(location.bucket, 'agp-models');
    assert.equal(location.prefix, 'team/reg');
    assert.equal(location.endpoint, 'http://127.0.0.1:9000');
    assert.equal(location.region, 'eu-west-1');
    assert.equal(location.cacheDir, '/d/registry-cache');
    const own = registryLocationFromEnv('/d', {
      AGP_REGISTRY: 's3://agp-models',
      AWS_ENDPOINT_URL: 'http://a:1',
      AGP_S3_ENDPOINT: 'http://b:2',
    });
    assert.equal(own.kind === 's3' && own.endpoint, 'http://b:2');
  });

  it('a bad bucket or endpoint is a ConfigError naming AGP_REGISTRY', () => {
    assert.throws(
      () => registryLocationFromEnv('/d', { AGP_REGISTRY: 's3://Bad_Bucket/x' }),
      (e: unknown) =>
        e instanceof ConfigError && /AGP_REGISTRY='s3:\/\/Bad_Bucket\/x'.*bucket/.test(e.message),
    );
    assert.throws(
      () =>
        registryLocationFromEnv('/d', {
          AGP_REGISTRY: 's3://ok-bucket',
          AGP_S3_ENDPOINT: 'not a url',
        }),
      /endpoint/,
    );
  });
});
