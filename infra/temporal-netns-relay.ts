import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';

/**
 * Secure mode's private side of the Temporal dev server. It runs inside a network namespace of
 * its own (infra/temporal-tls-proxy.ts starts it under `unshare --user --net`), together with
 * the dev server it starts as its child: every port the dev server opens (the gRPC frontend,
 * its HTTP API, metrics, the internal services) is on that namespace's loopback, which no
 * process outside can reach. The one way in is the Unix socket this relay listens on, in the
 * data directory's 0700 `tls/` directory and itself 0600, which it pipes to the frontend; the
 * mTLS terminator outside connects to it. It exits when the dev server exits.
 *
 * Usage: temporal-netns-relay.ts --socket S --backend-port B -- <temporal> server start-dev …
 */
function main(): void {
  const { values, positionals } = parseArgs({
    options: { socket: { type: 'string' }, 'backend-port': { type: 'string' } },
    allowPositionals: true,
  });
  const backendPort = Number(values['backend-port']);
  const socketPath = values.socket;
  const [command, ...args] = positionals;
  if (!Number.isInteger(backendPort) || !socketPath || !command) {
    process.stderr.write('usage: temporal-netns-relay --socket S --backend-port B -- cmd…\n');
    process.exit(2);
  }
  const server = spawn(command, args, { stdio: 'inherit' });
  server.once('exit', (code, signal) => {
    process.stderr.write(`netns-relay: the dev server exited (${signal ?? code}); exiting\n`);
    fs.rmSync(socketPath, { force: true });
    process.exit(code ?? 1);
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => server.kill(sig));
  }
  fs.rmSync(socketPath, { force: true });
  const relay = net.createServer((client) => {
    const backend = net.connect({ host: '127.0.0.1', port: backendPort });
    client.pipe(backend).pipe(client);
    const close = () => {
      client.destroy();
      backend.destroy();
    };
    client.once('error', close);
    backend.once('error', close);
    client.once('close', close);
    backend.once('close', close);
  });
  // Owner-only from the start: the socket is created under a 0077 umask, then made 0600.
  const umask = process.umask(0o077);
  relay.listen(socketPath, () => {
    process.umask(umask);
    fs.chmodSync(socketPath, 0o600);
    process.stderr.write(`netns-relay: ${socketPath} -> 127.0.0.1:${backendPort} (private)\n`);
  });
}

main();
