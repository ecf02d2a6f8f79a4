import { z } from 'zod';
import { EventValidation } from './event-validation';
import { FeatureSpec } from './feature-spec';

/**
 * A bounded source of click events: fixed offset ranges of a Kafka topic, keeping the valid
 * events whose `eventTime` lies in [fromTime, toTime). What a resolved Kafka window of a daily
 * retraining trains and tests on; decoded, validated and dead-lettered as the recurring phase
 * does. Offsets are fixed, so every pass (epoch, evaluation) reads the same events in the same
 * order (partition by partition, offsets ascending).
 */
export const KafkaRangeSource = z.strictObject({
  kind: z.literal('kafka-range'),
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1–249 of [A-Za-z0-9._-]'),
  /** Offsets [from, to) per partition. */
  partitions: z
    .array(
      z.strictObject({
        partition: z.number().int().min(0),
        from: z.number().int().min(0),
        to: z.number().int().min(0),
      }),
    )
    .min(1),
  /** Event times kept: [fromTime, toTime), epoch ms. */
  fromTime: z.number().int().nonnegative(),
  toTime: z.number().int().nonnegative(),
  /**
   * The spec events are decoded with, when the caller does not pass one (the training config's
   * `data.features`). @default the spec the caller passes
   */
  features: FeatureSpec.optional(),
  eventValidation: EventValidation.optional(),
  /** Where invalid events go (once, on the first pass); null: counted only. @default `<topic>.dlq` */
  deadLetterTopic: z.string().min(1).nullable().optional(),
  /** A name for reports, e.g. `train` or `test`. */
  label: z.string().optional(),
});
export type KafkaRangeSourceConfig = z.infer<typeof KafkaRangeSource>;
