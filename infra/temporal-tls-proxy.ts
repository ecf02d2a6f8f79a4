import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { secureMaterial } from '../src/config/secure-material';

/**
 * Secure mode's Temporal frontend. `temporal server start-dev` (CLI 1.9) has no TLS options, so
 * this process terminates TLS in front of it, the way an Envoy or nginx sidecar fronts a
 * Temporal cluster: it requires a client certificate signed by the data directory's CA (mTLS,
 * as Temporal Cloud does), negotiates HTTP/2 by ALPN for gRPC, and pipes the decrypted stream
 * to the dev server, which it runs as its child on a loopback-only port. It exits when the dev
 * server exits, and takes the dev server down when it is stopped (both share a process group).
 *
 * Usage: temporal-tls-proxy.ts --port P --backend-port B --data-dir D -- <temporal> server start-dev …
 */
function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      port: { type: 'string' },
      'backend-port': { type: 'string' },
      'data-dir': { type: 'string' },
    },
    allowPositionals: true,
  });
  const port = Number(values.port);
  const backendPort = Number(values['backend-port']);
  const [command, ...args] = positionals;
  if (
    !Number.isInteger(port) ||
    !Number.isInteger(backendPort) ||
    !values['data-dir'] ||
    !command
  ) {
    process.stderr.write(
      'usage: temporal-tls-proxy --port P --backend-port B --data-dir D -- cmd…\n',
    );
    process.exit(2);
  }
  const m = secureMaterial(values['data-dir']);

  const server = spawn(command, args, { stdio: 'inherit' });
  server.once('exit', (code, signal) => {
    process.stderr.write(`tls-proxy: the dev server exited (${signal ?? code}); exiting\n`);
    process.exit(code ?? 1);
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => server.kill(sig));
  }

  const proxy = tls.createServer(
    {
      key: fs.readFileSync(m.serverKey),
      cert: fs.readFileSync(m.serverCert),
      ca: fs.readFileSync(m.caCert),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.2',
    },
    (client) => {
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
    },
  );
  // A refused handshake (no client certificate, an unknown CA, plaintext bytes) is the
  // terminator doing its job; one line per refusal, with the peer and the reason only.
  proxy.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    process.stderr.write(
      `tls-proxy: refused ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${error.code ?? error.message}\n`,
    );
  });
  proxy.listen(port, '127.0.0.1', () => {
    process.stderr.write(`tls-proxy: mTLS on 127.0.0.1:${port} -> 127.0.0.1:${backendPort}\n`);
  });
}

main();
