import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureInfra, stopInfra, type Component } from './stack';
import { statePaths } from './paths';
import { readPid, sleep } from './process';
import type { InfraConfig } from '../schemas/infra-config';
import { parseInfraConfig } from '../src/config/env';

/**
 * A Temporal dev server and a Kafka broker of a caller's own (the fault suite, the fleet test,
 * `npm run bench:fleet`), on ports and in a data directory nobody else uses, so the caller can
 * SIGKILL and restart them without disturbing the shared servers `npm test` runs the other
 * integration tests against, or another engineer's run of a different caller.
 */
export interface PrivateStack {
  config: InfraConfig;
  /** Environment for a child process (a worker) that should talk to this stack. */
  childEnv: NodeJS.ProcessEnv;
  /** SIGKILLs a server (no graceful shutdown: what a crashed host does). */
  kill(component: Component): Promise<void>;
  /** Starts a killed server again on the same data, and waits until it is healthy. */
  restart(): Promise<void>;
  /**
   * Stops both servers and deletes the data directory, or with `keepAt` moves it there instead
   * (a failed test's artefacts: the registry, Kafka's log of every event, Temporal's database).
   */
  dispose(options?: { keepAt?: string }): Promise<void>;
}

/*
 * Every private stack listens below 32768: Linux hands out 32768–60999 as the local ports of
 * outgoing connections (net.ipv4.ip_local_port_range), so a fixed server port in that range is
 * sometimes already taken by some client's socket. The fleet test's Kafka on 49092 failed to
 * bind that way ("Address already in use" with no server on it).
 */

/** Ports of the fault suite (the shared servers use 7233/8233 and 9092/9093). */
const PORTS = {
  AGP_TEMPORAL_PORT: '27233',
  AGP_TEMPORAL_UI_PORT: '28233',
  AGP_KAFKA_PORT: '29092',
  AGP_KAFKA_CONTROLLER_PORT: '29093',
} as const;

/** Ports of the main command's outage test, so it never meets a fault-suite server. */
export const OTHER_PORTS = {
  AGP_TEMPORAL_PORT: '21233',
  AGP_TEMPORAL_UI_PORT: '21333',
  AGP_KAFKA_PORT: '21092',
  AGP_KAFKA_CONTROLLER_PORT: '21093',
} as const;

/** Ports of the fleet failover test (test/faults/fleet-failover.test.ts). */
export const FLEET_PORTS = {
  AGP_TEMPORAL_PORT: '22233',
  AGP_TEMPORAL_UI_PORT: '22333',
  AGP_KAFKA_PORT: '22092',
  AGP_KAFKA_CONTROLLER_PORT: '22093',
} as const;

/** Ports of the offline failover test (test/faults/offline-failover.test.ts). */
export const OFFLINE_FAILOVER_PORTS = {
  AGP_TEMPORAL_PORT: '23233',
  AGP_TEMPORAL_UI_PORT: '23333',
  AGP_KAFKA_PORT: '23092',
  AGP_KAFKA_CONTROLLER_PORT: '23093',
} as const;

/** Ports of the fleet benchmark (bench/fleet/run.ts), so it can run beside the fault tests. */
export const BENCH_FLEET_PORTS = {
  AGP_TEMPORAL_PORT: '24233',
  AGP_TEMPORAL_UI_PORT: '24333',
  AGP_KAFKA_PORT: '24092',
  AGP_KAFKA_CONTROLLER_PORT: '24093',
} as const;

/** Ports of the serving benchmark's freshness phase (bench/serve/freshness.ts). */
export const BENCH_SERVE_PORTS = {
  AGP_TEMPORAL_PORT: '25233',
  AGP_TEMPORAL_UI_PORT: '25333',
  AGP_KAFKA_PORT: '25092',
  AGP_KAFKA_CONTROLLER_PORT: '25093',
} as const;

/**
 * Starts the servers in a fresh temporary data directory.
 * @param label prefixes the infra log lines and the data directory's name. @default 'faults'
 */
export async function startPrivateStack(
  taskQueue: string,
  ports: Record<keyof typeof PORTS, string> = PORTS,
  label = 'faults',
): Promise<PrivateStack> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `agp-${label}-`));
  const env = { ...ports, AGP_DATA_DIR: dataDir, AGP_TASK_QUEUE: taskQueue };
  const config = parseInfraConfig(env);
  const log = (line: string): void => void process.stdout.write(`# ${label} infra: ${line}\n`);
  await ensureInfra(config, log);
  const paths = statePaths(dataDir);
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    TEMPORAL_ADDRESS: config.temporal.address,
    KAFKA_BROKERS: config.kafka.brokers.join(','),
  };
  return {
    config,
    childEnv,
    async kill(component) {
      const pid = readPid(path.join(paths.pids, `${component}.pid`));
      if (pid === undefined) throw new Error(`no pid recorded for ${component}`);
      process.kill(pid, 'SIGKILL');
      // Until the kernel has reaped it, the port is still bound and a restart would fail.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await sleep(100);
      }
      throw new Error(`${component} (pid ${pid}) survived SIGKILL for 10 s`);
    },
    async restart() {
      await ensureInfra(config, log);
    },
    async dispose(options) {
      await stopInfra(config).catch(() => undefined);
      if (options?.keepAt !== undefined) {
        await mkdir(path.dirname(options.keepAt), { recursive: true });
        await cp(dataDir, options.keepAt, { recursive: true });
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
