import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { InfraError } from '../src/errors';

/** True when `command` is an executable on PATH. */
export function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs a command to completion; on failure throws an InfraError carrying its output's tail. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 15 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-20).join('\n');
          reject(
            new InfraError(`\`${command} ${args.join(' ')}\` failed: ${error.message}\n${tail}`, {
              retriable: false,
              cause: error,
            }),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

/**
 * Starts a long-running server in its own process group (so stopping it stops its children),
 * appending its output to `logFile`. The caller records the pid.
 */
export function spawnServer(
  command: string,
  args: string[],
  logFile: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): number {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  // A binary that is missing or not executable: say so here. Node would report it only as an
  // asynchronous 'error' event on the child, which crashed the caller unhandled.
  if (command.includes(path.sep)) {
    try {
      fs.accessSync(command, fs.constants.X_OK);
    } catch (cause) {
      throw new InfraError(
        `could not start ${path.basename(command)}: ${command} is missing or not executable (${(cause as NodeJS.ErrnoException).code ?? 'error'}); remove its install directory to reinstall it`,
        { retriable: false, cause },
      );
    }
  }
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    // Any later spawn failure is reported by the caller's health wait (the process is not
    // alive), not by an unhandled 'error' event that kills this process.
    child.once('error', (error) => {
      fs.appendFile(logFile, `could not start ${command}: ${error.message}\n`, () => undefined);
    });
    if (child.pid === undefined) {
      throw new InfraError(`could not start ${command}: see ${logFile}`, { retriable: false });
    }
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/** The pid recorded in `pidFile`, if the file exists. */
export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function writePid(pidFile: string, pid: number): void {
  fs.mkdirSync(path.dirname(pidFile), { recursive: true });
  fs.writeFileSync(pidFile, `${pid}\n`);
}

/**
 * True when `pid` is alive and its command line contains `marker`: a recycled pid that now
 * belongs to another program is not ours, and must never be signalled.
 */
export function isOurProcess(pid: number, marker: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(marker)) return false;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has exited; it only waits for its parent to reap it.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Stops a process (and its process group) by pid: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, marker: string, graceMs = 20_000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, sig);
      } catch {
        // Already gone, or not a group leader: the other target covers it.
      }
    }
  };
  if (!isOurProcess(pid, marker)) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(pid, marker)) return;
    await sleep(200);
  }
  signal('SIGKILL');
  while (isOurProcess(pid, marker)) await sleep(100);
}

/** True when something accepts TCP connections on host:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it succeeds or `deadlineMs` passes. If `alive` turns false the server
 * died while starting: fail at once instead of waiting out the deadline.
 */
export async function waitUntilHealthy<T>(
  what: string,
  probe: () => Promise<T>,
  options: { deadlineMs: number; alive: () => boolean; logFile: string },
): Promise<T> {
  const deadline = Date.now() + options.deadlineMs;
  let lastError: unknown;
  for (;;) {
    if (!options.alive()) {
      throw new InfraError(
        `${what} exited while starting; its log (${options.logFile}) ends with:\n${logTail(options.logFile)}`,
        { retriable: false },
      );
    }
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new InfraError(
        `${what} not healthy after ${options.deadlineMs / 1000}s (${reason}); log: ${options.logFile}\n${logTail(options.logFile)}`,
        { retriable: false },
      );
    }
    await sleep(500);
  }
}
