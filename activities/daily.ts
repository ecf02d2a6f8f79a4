import type { Kafka } from 'kafkajs';
import { parseOrThrow } from '../schemas/zod-errors';
import { CheckTopicInput, FindDailyVersionInput, type DailyVersion } from '../schemas/workflow-io';
import { findDailyVersion } from '../src/pipeline/daily-version';
import type { RegistryStore } from '../src/registry/store';
import { assertTopicExists } from '../src/stream/topic-exists';
import { toFailure } from './failure';

/** Dependencies of the daily retraining's own activities. */
export interface DailyDeps {
  kafka: Kafka;
  registry: RegistryStore;
}

/** Activities of `dailyRetraining` besides training, windows and evaluation. */
export function createDailyActivities(deps: DailyDeps) {
  return {
    /** The version a daily run already published for a nominal time, or null. */
    async findDailyVersion(raw: FindDailyVersionInput): Promise<DailyVersion | null> {
      try {
        const input = parseOrThrow(FindDailyVersionInput, raw, 'findDailyVersion input');
        const found = await findDailyVersion(deps.registry, input.model, input.nominalTime);
        if (found === null) return null;
        return {
          version: found.manifest.version,
          latest: found.latest,
          held: found.held,
          judgement: found.manifest.judgement ?? null,
          metrics: found.manifest.metrics,
        };
      } catch (error) {
        throw toFailure(error);
      }
    },

    /** Fails with a non-retryable ConfigError naming the topic when it does not exist. */
    async checkTopic(raw: CheckTopicInput): Promise<void> {
      try {
        const input = parseOrThrow(CheckTopicInput, raw, 'checkTopic input');
        await assertTopicExists(deps.kafka, input.topic, 'daily retraining');
      } catch (error) {
        throw toFailure(error);
      }
    },
  };
}

/** The daily activities' type, for `proxyActivities`. */
export type DailyActivities = ReturnType<typeof createDailyActivities>;
