import fs from 'node:fs';
import type { TemporalConfig } from '../../schemas/infra-config';

/**
 * The connection options both `Connection.connect` (client) and `NativeConnection.connect`
 * (worker) take, built from the configuration. Declared here structurally so that src/ needs
 * no Temporal import; the SDK's `TLSConfig` has exactly these fields.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

/**
 * Options for connecting to the configured Temporal frontend: TLS when configured (mTLS when a
 * client certificate is given), the API key when one is. Certificates, key and API key are read
 * here, when the connection is made, and passed to the SDK only.
 */
export function temporalConnectionOptions(
  config: Pick<TemporalConfig, 'address' | 'tls' | 'apiKey'>,
): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: config.address };
  const tls = config.tls;
  if (tls) {
    options.tls = {
      ...(tls.serverName === undefined ? {} : { serverNameOverride: tls.serverName }),
      ...(tls.caFile === undefined ? {} : { serverRootCACertificate: fs.readFileSync(tls.caFile) }),
      ...(tls.certFile === undefined || tls.keyFile === undefined
        ? {}
        : {
            clientCertPair: {
              crt: fs.readFileSync(tls.certFile),
              key: fs.readFileSync(tls.keyFile),
            },
          }),
    };
  }
  if (config.apiKey) options.apiKey = config.apiKey.reveal();
  return options;
}
