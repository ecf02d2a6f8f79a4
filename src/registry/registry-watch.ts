import type { Kafka } from 'kafkajs';
import type { Manifest } from '../../schemas/manifest';
import { RegistryAnnouncement } from '../../schemas/registry-announcement';
import { formatZodIssues } from '../../schemas/zod-errors';
import { DataError } from '../errors';
import { DEFAULT_REGISTRY_TOPIC } from './kafka-announcer';
import type { RegistryStore } from './store';
import { versionNumber } from './version';
import { createTopicsReady } from '../stream/create-topics';

/** Options of {@link watchRegistry}. */
export interface WatchOptions {
  /** @default 'agp.registry' */
  topic?: string;
  /** @default a fresh group per watcher, so every watcher sees every announcement */
  groupId?: string;
  /**
   * Called when an announcement is malformed, its version fails verification (corrupt, or
   * already deleted by retention) or `onVersion` throws; the watcher carries on.
   * @default writes the message to stderr
   */
  onError?: (error: Error) => void;
}

/** A running watcher. */
export interface RegistryWatch {
  readonly groupId: string;
  stop(): Promise<void>;
}

/**
 * Calls `onVersion` with the verified manifest of every version of `model` announced after this
 * call resolves, oldest first, each at most once. The watcher first reads the topic's end
 * offsets and then seeks there, so an announcement sent after `watchRegistry` resolves is never
 * missed while the consumer group is still joining.
 */
export async function watchRegistry(
  kafka: Kafka,
  store: RegistryStore,
  model: string,
  onVersion: (manifest: Manifest, announcement: RegistryAnnouncement) => void | Promise<void>,
  options: WatchOptions = {},
): Promise<RegistryWatch> {
  const topic = options.topic ?? DEFAULT_REGISTRY_TOPIC;
  const groupId =
    options.groupId ?? `agp-registry-watch-${model}-${Math.random().toString(36).slice(2, 10)}`;
  const onError =
    options.onError ??
    ((error: Error) => process.stderr.write(`registry watch ${model}: ${error.message}\n`));

  await createTopicsReady(kafka, [{ topic }]);
  const admin = kafka.admin();
  await admin.connect();
  let start: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    start = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }

  let newest = 0;
  // A short long-poll: `stop` waits for the fetch in flight, and announcements are rare.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  await consumer.connect();
  // Skip what was announced before the watch began: seek on every (re)join, which kafkajs emits
  // after the assignment and before fetching. (A seek right after `run` races with a consumer
  // that crashed and restarts while the group coordinator is still loading on a fresh broker.)
  // The offset check in eachMessage keeps it correct even if a seek is missed.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of start) {
      consumer.seek({ topic, partition, offset: offset.toString() });
    }
  });
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      // Nothing is committed: each watcher starts from "now" and its group vanishes with it.
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (BigInt(message.offset) < (start.get(partition) ?? 0n)) return;
        if (message.key?.toString() !== model) return;
        const where = `${topic}[${partition}]@${message.offset}`;
        let json: unknown;
        try {
          json = JSON.parse(message.value?.toString() ?? '');
        } catch {
          onError(new DataError(`${where}: announcement is not JSON`));
          return;
        }
        const parsed = RegistryAnnouncement.safeParse(json);
        if (!parsed.success) {
          onError(new DataError(`${where}: bad announcement:\n${formatZodIssues(parsed.error)}`));
          return;
        }
        const announcement = parsed.data;
        if (announcement.model !== model || versionNumber(announcement.version) <= newest) return;
        try {
          const manifest = await store.verify(model, announcement.version);
          newest = versionNumber(manifest.version);
          await onVersion(manifest, announcement);
        } catch (error) {
          onError(error instanceof Error ? error : new Error(String(error)));
        }
      },
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  return {
    groupId,
    stop: () => consumer.disconnect(),
  };
}
