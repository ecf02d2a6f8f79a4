import { hostname } from 'node:os';
import type { WorkflowHandle } from '@temporalio/client';
import type { RegistryStore } from '../../src/registry/store';
import type { recurringTraining } from '../../workflows';
import { sleep } from '../process';
import type { WorkerProcess } from '../worker-process';

/**
 * What a fleet's observer (the fleet failover test, `npm run bench:fleet`) reads from Temporal
 * and the registry: which worker runs a model's window now, and the versions it published.
 */

/** A handle of a `recurringTraining` run. */
export type RecurringHandle = WorkflowHandle<typeof recurringTraining>;

/** The worker identity the Temporal SDK reports by default (`<pid>@<hostname>`). */
export const identityOf = (w: WorkerProcess): string => `${w.pid}@${hostname()}`;

/**
 * Short names of a fleet's workers for messages (A, B, C… in the order they were started),
 * looked up by the identity Temporal reports; `none` for no worker.
 */
export function workerNames(): {
  add(w: WorkerProcess): void;
  nameOf(identity: string | undefined): string;
} {
  const names = new Map<string, string>();
  return {
    add: (w) => void names.set(identityOf(w), String.fromCharCode(65 + names.size)),
    nameOf: (identity) => (identity === undefined ? 'none' : (names.get(identity) ?? identity)),
  };
}

/** `temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED`. */
const PENDING_ACTIVITY_STARTED = 2;

/** The attempt of a model's window that is running now (state STARTED). */
export interface RunningWindow {
  identity: string;
  attempt: number;
  /** When the server handed this attempt to its worker, ms since the epoch. */
  startedAt: number;
}

/** The model's `trainRecurringWindow` attempt running now, if one is. */
export async function runningWindow(handle: RecurringHandle): Promise<RunningWindow | undefined> {
  const d = await handle.describe();
  const a = (d.raw.pendingActivities ?? []).find(
    (p) =>
      p.activityType?.name === 'trainRecurringWindow' &&
      Number(p.state) === PENDING_ACTIVITY_STARTED,
  );
  if (!a?.lastWorkerIdentity) return undefined;
  const t = a.lastStartedTime;
  return {
    identity: a.lastWorkerIdentity,
    attempt: a.attempt ?? 1,
    startedAt: t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN,
  };
}

/** A recurring version as the registry lists it. */
export interface PublishedVersion {
  version: string;
  /** Its manifest's `createdAt`, ms since the epoch. */
  at: number;
}

/** Recurring versions of `model` (served and held) with their publish times, oldest first. */
export async function recurringVersions(
  registry: RegistryStore,
  model: string,
): Promise<PublishedVersion[]> {
  const [listing] = await registry.list(model).catch(() => []);
  return (listing?.versions ?? [])
    .filter((v) => v.phase === 'recurring')
    .map((v) => ({ version: v.version, at: Date.parse(v.createdAt) }));
}

/** Polls `check` every `everyMs` until it returns a value, or fails with `diagnose()`'s account. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  ms: number,
  what: string,
  diagnose: () => Promise<string>,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${ms} ms\n${await diagnose()}`);
    await sleep(everyMs);
  }
}
