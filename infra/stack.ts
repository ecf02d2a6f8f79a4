import fs from 'node:fs';
import path from 'node:path';
import type { InfraConfig } from '../schemas/infra-config';
import { secureMaterial } from '../src/config/secure-material';
import { InfraError } from '../src/errors';
import {
  checkKafka,
  installKafka,
  kafkaLog,
  kafkaProperties,
  kafkaVersion,
  startKafka,
} from './kafka';
import { withLock } from './lock';
import { ensureTlsMaterial } from './tls';
import { statePaths, type StatePaths } from './paths';
import {
  isOurProcess,
  portInUse,
  readPid,
  stopProcess,
  waitUntilHealthy,
  writePid,
} from './process';
import {
  checkTemporal,
  installTemporalCli,
  startTemporal,
  TEMPORAL_CLI_PATH,
  temporalCliVersion,
  temporalLog,
} from './temporal';

/** The two servers `infra/` manages. */
export type Component = 'temporal' | 'kafka';

/** What {@link ensureInfra} found or did for one server. */
export interface ComponentState {
  component: Component;
  /** Where clients connect. */
  address: string;
  /** `started` by this call, `running` already (ours), or `external` (configured by env). */
  state: 'started' | 'running' | 'external';
  version: string;
  pid?: number;
  log?: string;
}

const HEALTH_DEADLINE_MS = { temporal: 90_000, kafka: 90_000 } as const;

interface Driver {
  component: Component;
  embedded: boolean;
  address: string;
  ports: number[];
  pidFile: string;
  log: string;
  /** A string found only in this data directory's server command line. */
  marker: string;
  install(log: (line: string) => void): Promise<unknown>;
  start(): Promise<number>;
  check(): Promise<string>;
  version(): Promise<string>;
}

function drivers(config: InfraConfig, paths: StatePaths): Driver[] {
  return [
    {
      component: 'temporal',
      embedded: config.temporal.embedded,
      address: config.temporal.address,
      ports: [config.temporal.port, config.temporal.uiPort, config.temporal.backendPort].filter(
        (p) => p !== undefined,
      ),
      pidFile: path.join(paths.pids, 'temporal.pid'),
      log: temporalLog(paths),
      marker: paths.temporalDb,
      install: (log) => installTemporalCli(log),
      start: () => Promise.resolve(startTemporal(TEMPORAL_CLI_PATH, config.temporal, paths)),
      check: () => checkTemporal(config.temporal),
      version: async () =>
        config.temporal.embedded
          ? temporalCliVersion(TEMPORAL_CLI_PATH)
          : checkTemporal(config.temporal),
    },
    {
      component: 'kafka',
      embedded: config.kafka.embedded,
      address: config.kafka.brokers.join(','),
      ports: [config.kafka.port, config.kafka.controllerPort],
      pidFile: path.join(paths.pids, 'kafka.pid'),
      log: kafkaLog(paths),
      marker: kafkaProperties(paths),
      install: (log) => installKafka(log),
      start: () =>
        startKafka(config.kafka, paths, config.secure ? secureMaterial(config.dataDir) : undefined),
      check: () => checkKafka(config.kafka),
      version: async () =>
        config.kafka.embedded ? kafkaVersion() : `external ${await checkKafka(config.kafka)}`,
    },
  ];
}

/**
 * Makes both servers available: installs what is missing into .cache/, starts the embedded
 * servers that are not running and waits until they are healthy. Idempotent; servers given by
 * TEMPORAL_ADDRESS / KAFKA_BROKERS are only health-checked.
 */
export async function ensureInfra(
  config: InfraConfig,
  log: (line: string) => void = () => {},
): Promise<ComponentState[]> {
  const paths = statePaths(config.dataDir);
  return withLock(paths.lock, async () => {
    if (config.secure && (config.temporal.embedded || config.kafka.embedded)) {
      await ensureTlsMaterial(secureMaterial(config.dataDir), log);
    }
    const all = drivers(config, paths);
    const results = await Promise.allSettled(all.map((d) => ensureOne(d, log)));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure === undefined) {
      return results.map((r) => (r as PromiseFulfilledResult<ComponentState>).value);
    }
    // All or nothing: a server this call started is stopped again when the other failed.
    for (const [i, r] of results.entries()) {
      const d = all[i];
      if (d && r.status === 'fulfilled' && r.value.state === 'started' && r.value.pid) {
        await stopProcess(r.value.pid, d.marker);
        fs.rmSync(d.pidFile, { force: true });
      }
    }
    throw failure.reason;
  });
}

async function ensureOne(d: Driver, log: (line: string) => void): Promise<ComponentState> {
  const base = { component: d.component, address: d.address };
  if (!d.embedded) {
    await waitUntilHealthy(`${d.component} at ${d.address}`, d.check, {
      deadlineMs: 15_000,
      alive: () => true,
      logFile: '(external server: no local log)',
    });
    return { ...base, state: 'external', version: await d.version() };
  }
  await d.install(log);
  const existing = readPid(d.pidFile);
  if (existing !== undefined && isOurProcess(existing, d.marker)) {
    await waitUntilHealthy(d.component, d.check, {
      deadlineMs: HEALTH_DEADLINE_MS[d.component],
      alive: () => isOurProcess(existing, d.marker),
      logFile: d.log,
    });
    return { ...base, state: 'running', version: await d.version(), pid: existing, log: d.log };
  }
  for (const port of d.ports) {
    if (await portInUse(port)) {
      throw new InfraError(
        `cannot start ${d.component}: port ${port} on 127.0.0.1 is already in use by a process infra did not start (find it with \`ss -ltnp 'sport = :${port}'\`); stop it, or point ${d.component === 'temporal' ? 'TEMPORAL_ADDRESS' : 'KAFKA_BROKERS'} at it`,
        { retriable: false },
      );
    }
  }
  log(`starting ${d.component} (log: ${d.log})`);
  const startedAt = Date.now();
  const pid = await d.start();
  writePid(d.pidFile, pid);
  try {
    await waitUntilHealthy(d.component, d.check, {
      deadlineMs: HEALTH_DEADLINE_MS[d.component],
      alive: () => isOurProcess(pid, d.marker),
      logFile: d.log,
    });
  } catch (error) {
    await stopProcess(pid, d.marker);
    fs.rmSync(d.pidFile, { force: true });
    throw error;
  }
  log(`${d.component} healthy after ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  return { ...base, state: 'started', version: await d.version(), pid, log: d.log };
}

/**
 * Stops the embedded servers of this data directory by their recorded pids (only those, and
 * only when the pid still runs our command line). Returns the components it stopped.
 */
export async function stopInfra(
  config: InfraConfig,
  only: readonly Component[] = ['temporal', 'kafka'],
): Promise<Component[]> {
  const paths = statePaths(config.dataDir);
  return withLock(paths.lock, async () => {
    const stopped: Component[] = [];
    for (const d of drivers(config, paths)) {
      if (!only.includes(d.component)) continue;
      const pid = readPid(d.pidFile);
      if (pid !== undefined && isOurProcess(pid, d.marker)) {
        await stopProcess(pid, d.marker);
        stopped.push(d.component);
      }
      fs.rmSync(d.pidFile, { force: true });
    }
    return stopped;
  });
}

/** One line of `infra:status`. */
export interface StatusLine {
  component: Component;
  address: string;
  /** `up`, `down`, `unhealthy`, or `external` (+ reachable or not). */
  state: string;
  version: string;
  pid?: number;
  log?: string;
}

/** Reports each server's state without changing anything. */
export async function infraStatus(config: InfraConfig): Promise<StatusLine[]> {
  const paths = statePaths(config.dataDir);
  return Promise.all(
    drivers(config, paths).map(async (d): Promise<StatusLine> => {
      const base = { component: d.component, address: d.address };
      const healthy = await d.check().then(
        () => true,
        () => false,
      );
      if (!d.embedded) {
        return {
          ...base,
          state: healthy ? 'external, reachable' : 'external, NOT reachable',
          version: healthy ? await d.version() : '?',
        };
      }
      const pid = readPid(d.pidFile);
      const ours = pid !== undefined && isOurProcess(pid, d.marker);
      const version = await d.version().catch(() => 'not installed');
      return {
        ...base,
        state: ours
          ? healthy
            ? 'up'
            : 'unhealthy (starting?)'
          : healthy
            ? 'up (not ours)'
            : 'down',
        version,
        ...(ours && pid !== undefined ? { pid } : {}),
        log: d.log,
      };
    }),
  );
}
