import { Context } from '@temporalio/activity';
import type { Kafka } from 'kafkajs';
import { criteoFeatureSpec, FeatureSpec } from '../schemas/feature-spec';
import { ResolveWindowInput, type ResolveWindowResult } from '../schemas/workflow-io';
import { parseOrThrow } from '../schemas/zod-errors';
import { resolveTrainingWindow } from '../src/data/windows/resolve-window';
import { toFailure } from './failure';

/** Dependencies of the window activities. */
export interface WindowDeps {
  kafka: Kafka;
}

/** Activities of scheduled retraining's data windows. */
export function createWindowActivities(deps: WindowDeps) {
  return {
    /**
     * Resolves a data window at a nominal time into concrete train and test sources (Kafka
     * offset ranges, or the partition files with sizes and checksums). Offsets-for-times is I/O,
     * so it happens here, and the workflow records only the result.
     */
    async resolveTrainingWindow(raw: ResolveWindowInput): Promise<ResolveWindowResult> {
      const ctx = Context.current();
      try {
        const input = parseOrThrow(ResolveWindowInput, raw, 'resolveTrainingWindow input');
        const data = (input.trainConfig['data'] ?? {}) as Record<string, unknown>;
        const features =
          data['features'] === undefined
            ? criteoFeatureSpec(typeof data['buckets'] === 'number' ? data['buckets'] : undefined)
            : parseOrThrow(FeatureSpec, data['features'], 'trainConfig.data.features');
        const resolved = await resolveTrainingWindow(input.window, Date.parse(input.nominalTime), {
          kafka: deps.kafka,
          features,
        });
        return {
          train: resolved.train as Record<string, unknown>,
          test: resolved.test as Record<string, unknown>,
          window: resolved.window,
          summary: resolved.summary,
        };
      } catch (error) {
        throw toFailure(error, ctx.cancellationSignal);
      }
    },
  };
}

/** The window activities' type, for `proxyActivities`. */
export type WindowActivities = ReturnType<typeof createWindowActivities>;
