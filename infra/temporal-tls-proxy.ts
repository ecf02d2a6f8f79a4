import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { secureMaterial } from '../src/config/secure-material';

/**
 * Secure mode's Temporal frontend. `temporal server start-dev` (CLI 1.9) has no TLS options, so
 * this process terminates TLS in front of it, the way an Envoy or nginx sidecar fronts a
 * Temporal cluster: it requires a client certificate signed by the data directory's CA (mTLS,
 * as Temporal Cloud does), negotiates HTTP/2 by ALPN for gRPC, and pipes the decrypted stream
 * to the dev server. It exits when the dev server exits, and takes the dev server down when it
 * is stopped (they share a process group).
 *
 * The dev server itself opens plaintext ports that control workflows without any credential
 * (its gRPC frontend, an HTTP API, metrics and internal services; issue 26 found the frontend
 * answering the CLI on 127.0.0.1). So it runs in a network namespace of its own (`unshare
 * --user --net`, loopback brought up with `ip`), where none of its ports is reachable from
 * outside; infra/temporal-netns-relay.ts, beside it in the namespace, exposes only its frontend,
 * on an owner-only Unix socket in the data directory, which this terminator connects to. A
 * machine that refuses the namespace refuses secure mode, with the reason, rather than fall
 * back to an open port.
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

  const relay = path.join(import.meta.dirname, 'temporal-netns-relay.ts');
  const server = spawn(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--net',
      '--fork',
      '--kill-child',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      '--import',
      'tsx',
      relay,
      '--socket',
      m.temporalSocket,
      '--backend-port',
      String(backendPort),
      '--',
      command,
      ...args,
    ],
    { stdio: 'inherit' },
  );
  server.once('error', (error) => {
    process.stderr.write(
      `tls-proxy: cannot run the dev server in a private network namespace (${error.message}); ` +
        'secure mode needs unshare (util-linux) and user namespaces\n',
    );
    process.exit(1);
  });
  server.once('exit', (code, signal) => {
    process.stderr.write(
      `tls-proxy: the dev server exited (${signal ?? code})` +
        (code !== 0 && signal === null
          ? '; if unshare or ip failed above, this machine refuses the private network ' +
            'namespace secure mode runs it in (user namespaces disabled?)'
          : '') +
        '; exiting\n',
    );
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
      const backend = net.connect({ path: m.temporalSocket });
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
    process.stderr.write(
      `tls-proxy: mTLS on 127.0.0.1:${port} -> ${m.temporalSocket} -> the dev server's ` +
        `127.0.0.1:${backendPort} in its private network namespace\n`,
    );
  });
}

main();
