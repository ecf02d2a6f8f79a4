import { Context } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import { parseOrThrow } from '../schemas/zod-errors';
import { EvaluateInput, type EvaluateResult } from '../schemas/workflow-io';
import { evaluateOnEvents } from '../src/pipeline/evaluate-on-events';
import type { RegistryStore } from '../src/registry/store';
import { toFailure } from './failure';

/** Dependencies of the evaluation activities. */
export interface EvaluateDeps {
  kafka: Kafka;
  registry: RegistryStore;
}

/** Activities that compare versions. */
export function createEvaluateActivities(deps: EvaluateDeps) {
  return {
    /** Scores a candidate and a baseline version on the same newest events of a topic. */
    async evaluateVersions(raw: EvaluateInput): Promise<EvaluateResult> {
      try {
        const input = parseOrThrow(EvaluateInput, raw, 'evaluateVersions input');
        Context.current().heartbeat();
        return await evaluateOnEvents(deps.kafka, deps.registry, input);
      } catch (error) {
        throw toFailure(error);
      }
    },
  };
}

/** The evaluation activities' type, for `proxyActivities`. */
export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
