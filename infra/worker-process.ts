import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** How long `kill` waits for a graceful exit before SIGKILL. */
const KILL_AFTER_MS = 15_000;

/** `npm run worker` as its own process, so the suite can SIGKILL it like a lost host. */
export interface WorkerProcess {
  readonly pid: number;
  /** Everything the worker printed, for failure messages and the log checks. */
  output(): string;
  /** How it exited (`null` while it runs), for failure messages. */
  exit(): string | null;
  /** Resolves once the worker says it is polling (rejects if it exits first). */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function startWorker(env: NodeJS.ProcessEnv): WorkerProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid ?? -1,
    output: () => out,
    exit: () =>
      child.exitCode !== null
        ? `exit code ${child.exitCode}`
        : child.signalCode !== null
          ? `signal ${child.signalCode}`
          : null,
    ready: (timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (out.includes('worker: polling')) {
            clearInterval(poll);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearInterval(poll);
            reject(new Error(`worker exited before polling:\n${out}`));
          } else if (Date.now() - started > timeoutMs) {
            clearInterval(poll);
            reject(new Error(`worker not polling after ${timeoutMs} ms:\n${out}`));
          }
        }, 100);
      }),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A worker draining on SIGTERM can wait on a poll or an activity for long; the suite
      // must end regardless, so it gets KILL_AFTER_MS and then SIGKILL.
      const timer = setTimeout(() => {
        process.stdout.write(
          `# worker ${child.pid} still running ${KILL_AFTER_MS} ms after ${signal}; SIGKILL. ` +
            `Its last output:\n${out.slice(-2000).replace(/^/gm, '#   ')}\n`,
        );
        child.kill('SIGKILL');
      }, KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
