import { z } from 'zod';

/** Pieces every workflow schema uses (schemas/workflow-io.ts, schemas/recurring-io.ts). */

/** A version id as workflows carry it (plain string: brands do not survive JSON). */
export const Version = z.string().regex(/^v\d{6,}$/, 'a version looks like v000001');

/** Figures of a model: logloss, ne, auc, calibration, events, … (finite numbers only). */
export const Metrics = z.record(z.string().min(1), z.number());
export type Metrics = z.infer<typeof Metrics>;

/** A Kafka topic name. */
export const Topic = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1–249 of [A-Za-z0-9._-]');
