import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A running `agp serve` child process. */
export interface ServeProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port> of its gRPC server, or null with `--no-grpc`. */
  grpcAddress: string | null;
  /** SIGTERM, and wait until it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the real command (`agp serve`, as an operator runs it) on free ports and waits until
 * /readyz answers 200. `args` are its flags besides the ports.
 */
export async function startServe(options: {
  args: string[];
  grpc: boolean;
  env: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. `--cpu-prof` to profile the service under load. */
  nodeArgs?: string[];
}): Promise<ServeProcess> {
  const port = await freePort();
  const grpcPort = options.grpc ? await freePort() : null;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      // The CLI itself rather than bin/agp.js, whose extra process would outlive a SIGTERM.
      '--import',
      'tsx',
      join(__dirname, '..', '..', 'src', 'cli', 'main.ts'),
      'serve',
      ...options.args,
      '--port',
      String(port),
      ...(grpcPort === null ? ['--no-grpc'] : ['--grpc-port', String(grpcPort)]),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], env: options.env },
  );
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code ?? -1;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  while (
    (await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (exitCode !== null) throw new Error(`agp serve exited with ${exitCode} before it was ready`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`agp serve did not become ready in ${options.readyTimeoutMs ?? 120_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, grpcAddress: grpcPort === null ? null : `127.0.0.1:${grpcPort}`, stop };
}
