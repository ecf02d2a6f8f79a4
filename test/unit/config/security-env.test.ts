import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { after, describe, it } from 'node:test';
import { parseInfraConfig } from '../../../src/config/env';
import { temporalConnectionOptions } from '../../../src/config/temporal-connection';
import { ConfigError } from '../../../src/errors';
import { kafkaSecurity } from '../../../src/stream/kafka-client';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-security-env-'));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
};
const CA = file('ca.pem', '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
const CERT = file('client.pem', 'CLIENT CERT');
const KEY = file('client.key', 'CLIENT KEY');
const PASSWORD_FILE = file('password', 'file-pass-9f2c\n');
const PASSWORD = 'inline-pass-7d1e';
const API_KEY = 'api-key-51ab';

const external = { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', KAFKA_BROKERS: 'k1:9093' };

/** Every way Node prints a value: the secrets must appear in none of them. */
function printed(value: unknown): string {
  return [
    JSON.stringify(value),
    util.inspect(value, { depth: 10 }),
    util.format('%s %o %O %j', value, value, value, value),
    String(`${JSON.stringify(value)}`),
  ].join('\n');
}

function rejects(env: Record<string, string>, variable: string) {
  assert.throws(
    () => parseInfraConfig(env, '/'),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.split('\n').some((line) => line.startsWith(`${variable}:`)),
    `expected a ConfigError naming ${variable}`,
  );
}

describe('security configuration from the environment', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('builds SASL_SSL kafkajs settings from KAFKA_SSL* and KAFKA_SASL_*', () => {
    const c = parseInfraConfig(
      {
        ...external,
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA: CA,
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'trainer',
        KAFKA_SASL_PASSWORD_FILE: PASSWORD_FILE,
      },
      '/',
    );
    const settings = kafkaSecurity(c.kafka);
    assert.deepEqual(settings.ssl, { ca: [fs.readFileSync(CA, 'utf8')] });
    // The file's trailing newline is not part of the password.
    assert.deepEqual(settings.sasl, {
      mechanism: 'scram-sha-512',
      username: 'trainer',
      password: 'file-pass-9f2c',
    });
  });

  it('builds mTLS + API key connection options from TEMPORAL_TLS_* and TEMPORAL_API_KEY', () => {
    const c = parseInfraConfig(
      {
        ...external,
        TEMPORAL_TLS_CA: CA,
        TEMPORAL_TLS_CERT: CERT,
        TEMPORAL_TLS_KEY: KEY,
        TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
        TEMPORAL_API_KEY: API_KEY,
      },
      '/',
    );
    const options = temporalConnectionOptions(c.temporal);
    assert.equal(options.address, 'ns.acct.tmprl.cloud:7233');
    assert.equal(options.tls?.serverNameOverride, 'frontend.internal');
    assert.equal(options.tls?.serverRootCACertificate?.toString(), fs.readFileSync(CA, 'utf8'));
    assert.equal(options.tls?.clientCertPair?.crt.toString(), 'CLIENT CERT');
    assert.equal(options.tls?.clientCertPair?.key.toString(), 'CLIENT KEY');
    assert.equal(options.apiKey, API_KEY);
  });

  it('TEMPORAL_TLS=true alone means TLS with the system CAs; nothing set means plaintext', () => {
    const tls = parseInfraConfig({ ...external, TEMPORAL_TLS: 'true' }, '/');
    assert.deepEqual(temporalConnectionOptions(tls.temporal).tls, {});
    const plain = parseInfraConfig(external, '/');
    assert.equal(temporalConnectionOptions(plain.temporal).tls, undefined);
    assert.deepEqual(kafkaSecurity(plain.kafka), {});
  });

  it('redacts every credential whenever the configuration is printed', () => {
    const c = parseInfraConfig(
      {
        ...external,
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'trainer',
        KAFKA_SASL_PASSWORD: PASSWORD,
        TEMPORAL_API_KEY: API_KEY,
      },
      '/',
    );
    const out = printed(c);
    assert.ok(out.includes('[redacted]'), out);
    assert.ok(out.includes('trainer'), 'non-secret fields stay visible');
    for (const secret of [PASSWORD, API_KEY]) assert.ok(!out.includes(secret), out);
    // ...while the clients still get the real values.
    assert.equal(c.kafka.sasl?.password.reveal(), PASSWORD);
    assert.equal(c.temporal.apiKey?.reveal(), API_KEY);
  });

  it('secure embedded mode: own data dir and ports, generated material for the clients', () => {
    const c = parseInfraConfig({ AGP_SECURE: 'true', AGP_DATA_DIR: '/d' }, '/');
    assert.equal(c.dataDir, '/d/secure');
    assert.equal(c.temporal.address, '127.0.0.1:7234');
    assert.equal(c.temporal.backendPort, 7235);
    assert.equal(c.temporal.uiPort, 8234);
    assert.deepEqual(c.kafka.brokers, ['127.0.0.1:9094']);
    assert.equal(c.kafka.controllerPort, 9095);
    assert.deepEqual(c.temporal.tls, {
      caFile: '/d/secure/tls/ca.pem',
      certFile: '/d/secure/tls/client.pem',
      keyFile: '/d/secure/tls/client.key',
      serverName: 'localhost',
    });
    assert.deepEqual(c.kafka.ssl, { caFile: '/d/secure/tls/ca.pem' });
    assert.equal(c.kafka.sasl?.mechanism, 'scram-sha-512');
    const plain = parseInfraConfig(
      { AGP_SECURE: '1', AGP_DATA_DIR: '/d', KAFKA_SASL_MECHANISM: 'plain' },
      '/',
    );
    assert.equal(plain.kafka.sasl?.mechanism, 'plain');
  });

  const wrong: [string, string, Record<string, string>][] = [
    [
      'a mechanism without user',
      'KAFKA_SASL_USERNAME',
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'x' },
    ],
    [
      'a mechanism without password',
      'KAFKA_SASL_PASSWORD',
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' },
    ],
    [
      'credentials without a mechanism',
      'KAFKA_SASL_MECHANISM',
      { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'x' },
    ],
    ['an unknown mechanism', 'KAFKA_SASL_MECHANISM', { KAFKA_SASL_MECHANISM: 'gssapi' }],
    [
      'PLAIN without TLS',
      'KAFKA_SASL_MECHANISM',
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'x' },
    ],
    [
      'password and password file',
      'KAFKA_SASL_PASSWORD',
      {
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'x',
        KAFKA_SASL_PASSWORD_FILE: PASSWORD_FILE,
      },
    ],
    [
      'an unreadable password file',
      'KAFKA_SASL_PASSWORD_FILE',
      {
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: '/nonexistent/pw',
      },
    ],
    ['a CA with KAFKA_SSL=false', 'KAFKA_SSL_CA', { KAFKA_SSL: 'false', KAFKA_SSL_CA: CA }],
    ['a missing CA file', 'KAFKA_SSL_CA', { KAFKA_SSL_CA: '/nonexistent/ca.pem' }],
    ['a non-boolean KAFKA_SSL', 'KAFKA_SSL', { KAFKA_SSL: 'yes' }],
    ['a client cert without key', 'TEMPORAL_TLS_KEY', { TEMPORAL_TLS_CERT: CERT }],
    ['a client key without cert', 'TEMPORAL_TLS_CERT', { TEMPORAL_TLS_KEY: KEY }],
    [
      'TLS files with TEMPORAL_TLS=false',
      'TEMPORAL_TLS_CA',
      { TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: CA },
    ],
    ['an API key over plaintext', 'TEMPORAL_TLS', { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }],
    [
      'API key inline and as a file',
      'TEMPORAL_API_KEY',
      { TEMPORAL_API_KEY: 'k', TEMPORAL_API_KEY_FILE: PASSWORD_FILE },
    ],
  ];
  for (const [what, variable, env] of wrong) {
    it(`rejects ${what}, naming ${variable}`, () => rejects({ ...external, ...env }, variable));
  }

  it('rejects client security settings for the embedded servers, naming the variable', () => {
    rejects({ KAFKA_SSL: 'true' }, 'KAFKA_SSL');
    rejects({ TEMPORAL_TLS: 'true' }, 'TEMPORAL_TLS');
    rejects({ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_MECHANISM');
  });

  it('never puts a credential into a ConfigError message', () => {
    assert.throws(
      () =>
        parseInfraConfig(
          { ...external, KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: PASSWORD },
          '/',
        ),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(PASSWORD),
    );
  });
});
