import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  ApplicationFailure,
  defineSearchAttributeKey,
  SearchAttributeType,
} from '@temporalio/common';
import type { z } from 'zod';
import type {
  DiscardInput,
  Handover,
  PromoteInput,
  RecurringStatus,
  VersionInfo,
} from '../schemas/workflow-io';

/**
 * Messages of the recurring workflow. Clients import these definitions (not just their names)
 * so a typo is a compile error rather than a signal nobody receives.
 */

/** Pauses the recurring phase after the window under way has published. */
export const pauseSignal = defineSignal('pause');

/** Resumes a paused recurring phase. */
export const resumeSignal = defineSignal('resume');

/**
 * Hands a new version (e.g. a daily retraining's offline model) to the recurring phase: the next
 * window trains from it, starting at the offsets the recurring phase has reached.
 */
export const handoverSignal = defineSignal<[Handover]>('handover');

/** Version, offsets, events/s, streaming NE, lag, paused, versions published. */
export const statusQuery = defineQuery<RecurringStatus>('status');

/**
 * Promotes a version in the registry (retention keeps it forever). The validator rejects a
 * version this workflow did not publish or train from, before anything is written to history.
 */
export const promoteUpdate = defineUpdate<VersionInfo, [PromoteInput]>('promote');

/**
 * Discards a version the publish gate held (recorded in the registry's model state; it stays
 * listed, and its offsets stay skipped). The validator rejects a version that is not held.
 */
export const discardUpdate = defineUpdate<VersionInfo, [DiscardInput]>('discard');

/**
 * Search attributes the workflows upsert, so the Temporal UI lists runs per model, phase and
 * version with their widths and latest NE (registered by infra/ when the dev server starts).
 */
export const AgpModel = defineSearchAttributeKey('AgpModel', SearchAttributeType.KEYWORD);
export const AgpPhase = defineSearchAttributeKey('AgpPhase', SearchAttributeType.KEYWORD);
export const AgpVersion = defineSearchAttributeKey('AgpVersion', SearchAttributeType.KEYWORD);
export const AgpNe = defineSearchAttributeKey('AgpNe', SearchAttributeType.DOUBLE);
export const AgpWidths = defineSearchAttributeKey('AgpWidths', SearchAttributeType.KEYWORD);
/**
 * The publish gate's state of a recurring workflow: `ok`, `held` (the newest version was held;
 * `latest` stays at the good one) or `paused` (it paused itself after consecutive holds), so
 * operators can list what needs them: `AgpGate = "paused"`.
 */
export const AgpGate = defineSearchAttributeKey('AgpGate', SearchAttributeType.KEYWORD);

/**
 * What a daily run decided about its candidate: `promoted` (made `latest`), `handed-over` (to
 * the recurring phase), `kept` (it failed its judgement; the served version stays) or
 * `existing` (a version for the nominal time existed). With `AgpNe` (the candidate's NE on the
 * window's test days) and `AgpServedNe` (the served version's on the same rows).
 */
export const AgpDecision = defineSearchAttributeKey('AgpDecision', SearchAttributeType.KEYWORD);
export const AgpServedNe = defineSearchAttributeKey('AgpServedNe', SearchAttributeType.DOUBLE);

/** `13-512-256-64 | 512-256-1`: a version's layer widths as one keyword. */
export function formatWidthsKeyword(widths: { bottom: number[]; top: number[] }): string {
  return `${widths.bottom.join('-')} | ${widths.top.join('-')}`;
}

/**
 * Parses a workflow's input; a bad input fails the workflow with a non-retryable ConfigError
 * naming each bad field, instead of failing workflow tasks forever.
 */
export function parseWorkflowInput<T extends z.ZodType>(
  schema: T,
  raw: unknown,
  where: string,
): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.create({
    type: 'ConfigError',
    message: `${where}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    nonRetryable: true,
  });
}
