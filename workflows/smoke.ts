import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { KafkaRoundTripResult, SmokeActivities } from '../activities/smoke';

/** Input of {@link smokeTest}. */
export interface SmokeTestInput {
  /** Messages for the Kafka round trip. @default 100 */
  messages?: number;
}

const { kafkaRoundTrip } = proxyActivities<SmokeActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

const AgpPhase = defineSearchAttributeKey('AgpPhase', SearchAttributeType.KEYWORD);

/**
 * Proves both servers end to end: this workflow runs on Temporal, its activity produces to and
 * consumes from Kafka. Tagged `AgpPhase=smoke`, so the UI can list smoke runs.
 */
export async function smokeTest(input: SmokeTestInput = {}): Promise<KafkaRoundTripResult> {
  upsertSearchAttributes([{ key: AgpPhase, value: 'smoke' }]);
  return kafkaRoundTrip({ messages: input.messages ?? 100 });
}
