import path from 'node:path';
import type { InfraConfig } from '../../schemas/infra-config';

/**
 * Where `infra:up -- --secure` keeps the generated CA, certificates, keys and passwords of one
 * data directory. infra/ writes these files; the configuration of a process that connects to
 * the embedded secure servers points at them.
 */
export interface SecureMaterial {
  dir: string;
  /** The CA certificate clients trust (PEM). */
  caCert: string;
  caKey: string;
  /** Server certificate for localhost / 127.0.0.1 (PEM), signed by the CA. */
  serverCert: string;
  serverKey: string;
  /** Server key + certificate in one PEM file: Kafka's PEM keystore format. */
  serverKeystore: string;
  /** Client certificate for Temporal mTLS (PEM), signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** Password of the Kafka client user (PLAIN and SCRAM-SHA-512). */
  kafkaClientPassword: string;
  /** Password of the broker's own inter-broker PLAIN user. */
  kafkaBrokerPassword: string;
  /**
   * The owner-only Unix socket through which the mTLS terminator reaches the Temporal dev
   * server in its private network namespace (infra/temporal-netns-relay.ts).
   */
  temporalSocket: string;
}

/** The Kafka user the generated client credentials belong to. */
export const SECURE_KAFKA_USER = 'agp';
/** The name on the generated server certificate that clients verify. */
export const SECURE_SERVER_NAME = 'localhost';

export function secureMaterial(dataDir: string): SecureMaterial {
  const dir = path.join(dataDir, 'tls');
  const f = (name: string) => path.join(dir, name);
  return {
    dir,
    caCert: f('ca.pem'),
    caKey: f('ca.key'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    serverKeystore: f('server-keystore.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    kafkaClientPassword: f('kafka-client.password'),
    kafkaBrokerPassword: f('kafka-broker.password'),
    temporalSocket: f('temporal.sock'),
  };
}

/**
 * The environment that points any process (or another tool) at the embedded secure servers of
 * `config` as if they were remote ones: addresses, CA, client certificate and key, and the
 * SASL password as a file (the password itself is never put into an environment).
 */
export function secureClientEnv(
  config: Pick<InfraConfig, 'temporal' | 'kafka' | 'dataDir'>,
): Record<string, string> {
  const m = secureMaterial(config.dataDir);
  return {
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_CA: m.caCert,
    TEMPORAL_TLS_CERT: m.clientCert,
    TEMPORAL_TLS_KEY: m.clientKey,
    TEMPORAL_TLS_SERVER_NAME: SECURE_SERVER_NAME,
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA: m.caCert,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: SECURE_KAFKA_USER,
    KAFKA_SASL_PASSWORD_FILE: m.kafkaClientPassword,
  };
}
