import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SecureMaterial } from '../src/config/secure-material';
import { SECURE_SERVER_NAME } from '../src/config/secure-material';
import { InfraError } from '../src/errors';
import { onPath, runCommand } from './process';

const KEY_MODE = 0o600;

/**
 * Makes the secure mode's CA, server and client certificates and Kafka passwords exist in
 * `m.dir` (mode 0700; keys and passwords 0600), generating what is missing with openssl. A
 * data directory keeps its material across restarts, so clients configured once keep working.
 * Nothing secret is printed: openssl writes keys to files, never to its output.
 */
export async function ensureTlsMaterial(
  m: SecureMaterial,
  log: (line: string) => void,
): Promise<void> {
  fs.mkdirSync(m.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(m.dir, 0o700);
  const files = [m.caCert, m.caKey, m.serverCert, m.serverKey, m.serverKeystore, m.clientCert];
  if (![...files, m.clientKey].every((f) => fs.existsSync(f))) {
    if (!onPath('openssl')) {
      throw new InfraError(
        'openssl not found on PATH: secure mode generates its CA and certificates with it (e.g. `apt-get install -y openssl`)',
        { retriable: false },
      );
    }
    log(`generating a CA and server/client certificates in ${m.dir}`);
    await generateCertificates(m);
  }
  for (const file of [m.kafkaClientPassword, m.kafkaBrokerPassword]) {
    // base64url: no character that needs quoting in a JAAS line or a SCRAM spec.
    if (!fs.existsSync(file)) writePrivate(file, crypto.randomBytes(24).toString('base64url'));
  }
  for (const key of [m.caKey, m.serverKey, m.serverKeystore, m.clientKey]) {
    fs.chmodSync(key, KEY_MODE);
  }
}

/** Writes a file only its owner can read (the mode applies on creation, so it is set again). */
export function writePrivate(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: KEY_MODE });
  fs.chmodSync(file, KEY_MODE);
}

async function generateCertificates(m: SecureMaterial): Promise<void> {
  const work = fs.mkdtempSync(path.join(m.dir, 'gen-'));
  const tmp = (name: string) => path.join(work, name);
  try {
    await newKey(tmp('ca.key'));
    await runCommand('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      tmp('ca.key'),
      '-out',
      tmp('ca.pem'),
      '-days',
      '3650',
      '-subj',
      '/CN=agp secure-mode dev CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await signed(tmp, 'server', `/CN=${SECURE_SERVER_NAME}`, [
      'extendedKeyUsage=serverAuth',
      `subjectAltName=DNS:${SECURE_SERVER_NAME},IP:127.0.0.1`,
    ]);
    await signed(tmp, 'client', '/CN=agp-client', ['extendedKeyUsage=clientAuth']);
    writePrivate(
      tmp('server-keystore.pem'),
      fs.readFileSync(tmp('server.key'), 'utf8') + fs.readFileSync(tmp('server.pem'), 'utf8'),
    );
    // Certificates move into place last, so an interrupted run leaves no half set behind.
    const moves: [string, string][] = [
      ['ca.key', m.caKey],
      ['server.key', m.serverKey],
      ['server-keystore.pem', m.serverKeystore],
      ['server.pem', m.serverCert],
      ['client.key', m.clientKey],
      ['client.pem', m.clientCert],
      ['ca.pem', m.caCert],
    ];
    for (const [from, to] of moves) fs.renameSync(tmp(from), to);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function newKey(file: string): Promise<string> {
  return runCommand('openssl', [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    file,
  ]);
}

/** A key and a certificate `<name>.key` / `<name>.pem` signed by the CA in the same folder. */
async function signed(
  tmp: (name: string) => string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<void> {
  await newKey(tmp(`${name}.key`));
  await runCommand('openssl', [
    'req',
    '-new',
    '-key',
    tmp(`${name}.key`),
    '-out',
    tmp(`${name}.csr`),
    '-subj',
    subject,
  ]);
  fs.writeFileSync(
    tmp(`${name}.ext`),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      ...extensions,
      '',
    ].join('\n'),
  );
  await runCommand('openssl', [
    'x509',
    '-req',
    '-in',
    tmp(`${name}.csr`),
    '-CA',
    tmp('ca.pem'),
    '-CAkey',
    tmp('ca.key'),
    '-set_serial',
    `0x${crypto.randomBytes(16).toString('hex')}`,
    '-days',
    '825',
    '-extfile',
    tmp(`${name}.ext`),
    '-out',
    tmp(`${name}.pem`),
  ]);
}
