import type { Kafka } from 'kafkajs';
import { ConfigError } from '../errors';

/**
 * Checks that `topic` exists on the brokers, with at least one partition, before anything is
 * started on it (a recurring phase on a missing topic would fail on every retry with Kafka's
 * "This server does not host this topic-partition", which names no topic).
 *
 * @throws ConfigError naming the topic and `where` it was configured.
 */
export async function assertTopicExists(kafka: Kafka, topic: string, where: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      throw new ConfigError(
        `${where}: topic '${topic}' does not exist on the Kafka brokers; create it, or leave ` +
          "'topic' out to retrain from files only (no recurring phase)",
      );
    }
  } finally {
    await admin.disconnect();
  }
}
