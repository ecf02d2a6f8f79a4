import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Manifest } from '../../schemas/manifest';
import { RegistryAnnouncement } from '../../schemas/registry-announcement';
import type { Announcer } from './announcer';

/** The default registry announcement topic. */
export const DEFAULT_REGISTRY_TOPIC = 'agp.registry';

/** An announcer backed by a kafkajs producer, which it connects on first use. */
export interface KafkaAnnouncer extends Announcer {
  readonly topic: string;
  disconnect(): Promise<void>;
}

/**
 * Announces published versions on `topic`, keyed by model so each model's announcements stay in
 * order on one partition. The producer is idempotent so a retried send is not duplicated.
 *
 * @param topic - @default 'agp.registry'
 */
export function createKafkaAnnouncer(kafka: Kafka, topic = DEFAULT_REGISTRY_TOPIC): KafkaAnnouncer {
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  const connected = (): Promise<Producer> => {
    connecting ??= (async () => {
      const p = kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await p.connect();
      producer = p;
      return p;
    })().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };
  return {
    topic,
    async announce(manifest: Manifest, manifestPath: string): Promise<void> {
      const announcement = RegistryAnnouncement.parse({
        v: 1,
        model: manifest.model,
        version: manifest.version,
        parent: manifest.parent,
        phase: manifest.phase,
        metrics: manifest.metrics,
        manifestPath,
        createdAt: manifest.createdAt,
      });
      await (
        await connected()
      ).send({
        topic,
        acks: -1,
        messages: [{ key: manifest.model, value: JSON.stringify(announcement) }],
      });
    },
    async disconnect(): Promise<void> {
      connecting = undefined;
      const p = producer;
      producer = undefined;
      await p?.disconnect();
    },
  };
}
