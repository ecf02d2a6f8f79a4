import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { InfraError } from '../src/errors';
import { CACHE_DIR } from './paths';
import {
  isOurProcess,
  onPath,
  portInUse,
  readPid,
  runCommand,
  spawnServer,
  stopProcess,
  waitUntilHealthy,
  writePid,
} from './process';
import { writePrivate } from './tls';
import { MOTO_VERSION } from './versions';

/** The virtualenv moto is installed in (the cache is keyed by version). */
const MOTO_DIR = path.join(CACHE_DIR, 'moto', MOTO_VERSION);
const MOTO_SERVER = path.join(MOTO_DIR, 'venv', 'bin', 'moto_server');
const COMPLETE = path.join(MOTO_DIR, '.complete');

/** The default port of the embedded S3 server. @default 9000 */
export const DEFAULT_S3_PORT = 9000;
/** The bucket the embedded server is started with. */
export const DEFAULT_S3_BUCKET = 'agp-registry';

/** A running S3 server and how to reach it. */
export interface S3Server {
  endpoint: string;
  region: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  pid: number;
  /** Environment that points the registry at this server (holds the credentials: never print it). */
  env: Record<string, string>;
}

/** Installs moto's server mode into a virtualenv under .cache/ unless already there. */
export async function installMoto(log: (line: string) => void): Promise<string> {
  if (fs.existsSync(COMPLETE)) return MOTO_SERVER;
  if (!onPath('python3')) {
    throw new InfraError(
      'python3 not found on PATH: the embedded S3 server (moto) needs Python 3.9+, or set AGP_REGISTRY/AWS_ENDPOINT_URL to use an existing S3 service',
      { retriable: false },
    );
  }
  log(`installing moto[server] ${MOTO_VERSION} (S3 server) into ${MOTO_DIR}`);
  fs.rmSync(MOTO_DIR, { recursive: true, force: true });
  fs.mkdirSync(MOTO_DIR, { recursive: true });
  await runCommand('python3', ['-m', 'venv', path.join(MOTO_DIR, 'venv')]);
  await runCommand(path.join(MOTO_DIR, 'venv', 'bin', 'pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    `moto[server]==${MOTO_VERSION}`,
  ]);
  fs.writeFileSync(COMPLETE, `${new Date().toISOString()}\n`);
  return MOTO_SERVER;
}

/** Files of the S3 server under a data directory. */
function s3Paths(dataDir: string) {
  const dir = path.join(dataDir, 's3');
  return {
    dir,
    credentials: path.join(dir, 'credentials.json'),
    pid: path.join(dataDir, 'pids', 's3.pid'),
    log: path.join(dataDir, 'logs', 's3.log'),
  };
}

/**
 * The data directory's S3 credentials, generated on first use into a 0600 file. moto accepts
 * any signed request, but clients are configured exactly as for a real service, so switching to
 * one changes the values only.
 */
function credentialsOf(dataDir: string): S3Server['credentials'] {
  const file = s3Paths(dataDir).credentials;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writePrivate(
      file,
      JSON.stringify({
        accessKeyId: `AGP${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: crypto.randomBytes(30).toString('base64url'),
      }),
    );
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as S3Server['credentials'];
}

/** Health: the server lists buckets; then the registry's bucket is created if missing. */
async function checkS3(server: Omit<S3Server, 'pid' | 'env'>): Promise<void> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: server.credentials,
    maxAttempts: 1,
  });
  try {
    const { Buckets } = await client.send(new ListBucketsCommand({}));
    if (!(Buckets ?? []).some((b) => b.Name === server.bucket)) {
      await client.send(new CreateBucketCommand({ Bucket: server.bucket }));
    }
  } finally {
    client.destroy();
  }
}

/**
 * Starts (or finds running) the S3 server of `dataDir` on 127.0.0.1:`port`, health-checked, with
 * the bucket created. moto keeps objects in memory: a restart starts empty.
 */
export async function ensureS3(
  dataDir: string,
  options: { port?: number; bucket?: string; log?: (line: string) => void } = {},
): Promise<S3Server & { state: 'started' | 'running' }> {
  const log = options.log ?? (() => undefined);
  const port = options.port ?? DEFAULT_S3_PORT;
  const paths = s3Paths(dataDir);
  const server = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    bucket: options.bucket ?? DEFAULT_S3_BUCKET,
    credentials: credentialsOf(dataDir),
  };
  const env = {
    AGP_REGISTRY: `s3://${server.bucket}/registry`,
    AGP_S3_ENDPOINT: server.endpoint,
    AWS_REGION: server.region,
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
  };
  const binary = await installMoto(log);
  const existing = readPid(paths.pid);
  if (existing !== undefined && isOurProcess(existing, binary)) {
    await waitUntilHealthy('s3', () => checkS3(server), {
      deadlineMs: 30_000,
      alive: () => isOurProcess(existing, binary),
      logFile: paths.log,
    });
    return { ...server, env, pid: existing, state: 'running' };
  }
  if (await portInUse(port)) {
    throw new InfraError(
      `cannot start the S3 server: port ${port} on 127.0.0.1 is already in use by a process infra did not start`,
      { retriable: false },
    );
  }
  log(`starting s3 (moto ${MOTO_VERSION}, log: ${paths.log})`);
  const pid = spawnServer(binary, ['-H', '127.0.0.1', '-p', String(port)], paths.log);
  writePid(paths.pid, pid);
  try {
    await waitUntilHealthy('s3', () => checkS3(server), {
      deadlineMs: 60_000,
      alive: () => isOurProcess(pid, binary),
      logFile: paths.log,
    });
  } catch (error) {
    await stopProcess(pid, binary);
    fs.rmSync(paths.pid, { force: true });
    throw error;
  }
  return { ...server, env, pid, state: 'started' };
}

/** Stops the S3 server of `dataDir` by its recorded pid; true when it was running. */
export async function stopS3(dataDir: string): Promise<boolean> {
  const paths = s3Paths(dataDir);
  const pid = readPid(paths.pid);
  const running = pid !== undefined && isOurProcess(pid, MOTO_SERVER);
  if (running) await stopProcess(pid, MOTO_SERVER, 5_000);
  fs.rmSync(paths.pid, { force: true });
  return running;
}
