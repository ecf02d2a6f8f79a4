import type { ITopicConfig, Kafka } from 'kafkajs';
import { InfraError } from '../errors';

/**
 * Creates topics (existing ones are fine) and returns once every partition has a leader.
 *
 * Why not just `admin.createTopics({ waitForLeaders: true })`: on a KRaft broker the metadata
 * request kafkajs sends while waiting can answer UNKNOWN_TOPIC_OR_PARTITION for a moment after
 * the topic was created, and kafkajs gives up on that instead of retrying. Retriable protocol
 * errors are therefore retried here with a short backoff, up to `deadlineMs`.
 */
export async function createTopicsReady(
  kafka: Kafka,
  topics: ITopicConfig[],
  opts: { deadlineMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({ topics, waitForLeaders: true });
        const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        const leaderless = meta.topics.flatMap((t) =>
          t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}/${p.partitionId}`),
        );
        if (leaderless.length === 0) return;
        throw Object.assign(new Error(`no leader yet for ${leaderless.join(', ')}`), {
          retriable: true,
        });
      } catch (error) {
        const retriable = (error as { retriable?: boolean }).retriable === true;
        if (!retriable || Date.now() > deadline) {
          throw new InfraError(
            `could not create Kafka topics ${topics.map((t) => t.topic).join(', ')} (attempt ${attempt}): ${(error as Error).message}`,
            { cause: error },
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
