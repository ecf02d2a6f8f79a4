import type { Kafka } from 'kafkajs';
import type { FeatureSpec } from '../../../schemas/feature-spec';
import type { TrainingWindow } from '../../../schemas/training-window';
import { resolveFileWindow } from './resolve-file-window';
import { resolveKafkaWindow } from './resolve-kafka-window';
import type { ResolvedTrainingData } from './resolved-data';

/**
 * Resolves a training window at a nominal time (epoch ms) into concrete train and test sources.
 * `features` is the spec Kafka events are decoded with (file sources get it from the training
 * config as usual).
 */
export async function resolveTrainingWindow(
  window: TrainingWindow,
  nominalMs: number,
  deps: { kafka: Kafka; features: FeatureSpec },
): Promise<ResolvedTrainingData> {
  return window.kind === 'kafka'
    ? resolveKafkaWindow(deps.kafka, window, nominalMs, deps.features)
    : resolveFileWindow(window, nominalMs);
}
