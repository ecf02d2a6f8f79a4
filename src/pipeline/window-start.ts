import type { ModelVersion } from '../../schemas/manifest';
import { ConfigError, DataError } from '../errors';
import { resumePoint, type ResumePoint } from '../registry/lineage';
import type { RegistryStore } from '../registry/store';
import {
  newestVerifiedAncestor,
  verificationProblem,
  type FailedVersion,
} from '../registry/verified';
import { loadTrainerFromVersion, type LoadedVersion } from './model-version';
import type { TrainerCache } from './trainer-cache';

/** What a window did when the version it was to resume from does not verify. */
export interface ResumeFallback {
  /** The version the window was to resume from (the lineage's `latest`). */
  from: ModelVersion;
  /** The newest version on its parent chain that verifies: where the window resumes. */
  to: ModelVersion;
  /** The versions passed over, newest first, with what is wrong with each. */
  failed: FailedVersion[];
  /**
   * True when this attempt moved `latest` back to `to` (a registry rollback with the reason in
   * the model's history); false when an earlier attempt of the window already had.
   */
  rolledBack: boolean;
}

/** Where a recurring window starts. */
export interface WindowStart {
  resume: ResumePoint;
  /** The resume version, loaded (from the worker's trainer cache when it holds it). */
  loaded: LoadedVersion;
  /** Set when the window resumes from an older version because newer ones do not verify. */
  fallback: ResumeFallback | null;
}

/** Options of {@link startWindow}: those of `resumePoint`. */
export interface StartWindowOptions {
  since?: ModelVersion;
  supersedes?: ModelVersion;
}

/** The rollback reason a fallback records in the model's history (`agp registry show`, state). */
export function fallbackReason(fallback: Pick<ResumeFallback, 'from' | 'failed'>): string {
  const what = fallback.failed.map((f) => `${f.version}: ${f.problem}`).join('; ');
  return `resume fallback: ${fallback.from} fails verification (${what})`;
}

/**
 * Finds where a recurring window resumes (`resumePoint`: the served lineage's `latest`) and
 * loads that version; when its files do not verify, falls back without a person: `latest` moves
 * back (registry rollback, reason recorded) to the newest version on its parent chain that
 * verifies, and the window resumes from there, retraining the offsets of the versions passed
 * over (their weights are lost; no served version holds those events).
 *
 * A retry of a window that fell back finds `latest` no longer descending from the version it
 * was started from; that is accepted only when that version fails verification (an operator's
 * rollback of a good version still stops the window rather than fork the chain).
 *
 * A version the worker's `trainers` hold in memory is used as it is: its state is exactly the
 * version's, whatever happened to its files since.
 *
 * @throws ConfigError as `resumePoint` does; DataError when nothing on the chain verifies, or
 *   when the version that does not verify is not `latest` (an offline version being handed over).
 */
export async function startWindow(
  registry: RegistryStore,
  trainers: TrainerCache,
  model: string,
  fromVersion: ModelVersion,
  options: StartWindowOptions = {},
): Promise<WindowStart> {
  let resume: ResumePoint;
  let fallback: ResumeFallback | null = null;
  try {
    resume = await resumePoint(registry, model, fromVersion, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problem = await verificationProblem(registry, model, fromVersion);
    if (problem === null) throw error;
    // An earlier attempt fell back from `fromVersion`: resume below it, as that attempt did.
    const parent = (await registry.get(model, fromVersion)).parent;
    if (parent === null) throw error;
    const ancestor = await newestVerifiedAncestor(registry, model, parent);
    fallback = {
      from: fromVersion,
      to: ancestor.version,
      failed: [{ version: fromVersion, problem }, ...ancestor.failed],
      rolledBack: false,
    };
    resume = await resumeBelow(registry, model, ancestor.version, fallback.failed, {
      ...options,
      since: options.since ?? fromVersion,
    });
  }
  const cached = trainers.take(model, resume.version);
  if (cached !== undefined) return { resume, loaded: cached, fallback };
  try {
    return {
      resume,
      loaded: await loadTrainerFromVersion(registry, model, resume.version),
      fallback,
    };
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    if ((await registry.latest(model)) !== resume.version) throw error;
    const corrupt = resume.version;
    const ancestor = await newestVerifiedAncestor(registry, model, corrupt);
    // It verifies: the load failed for another reason, which an older version would not mend.
    if (ancestor.version === corrupt) throw error;
    const { failed } = ancestor;
    await registry.rollback(model, ancestor.version, fallbackReason({ from: corrupt, failed }));
    fallback = { from: corrupt, to: ancestor.version, failed, rolledBack: true };
    resume = await resumeBelow(registry, model, ancestor.version, failed, {
      ...options,
      since: options.since ?? fromVersion,
    });
    return {
      resume,
      loaded: await loadTrainerFromVersion(registry, model, resume.version),
      fallback,
    };
  }
}

/**
 * `resumePoint` from `good`, which versions passed over (`failed`, newest first) descend from.
 * An offline `good` has no offsets of its own: the window starts where its first recurring
 * child started, so the offsets that child trained are trained again and none before them.
 */
async function resumeBelow(
  registry: RegistryStore,
  model: string,
  good: ModelVersion,
  failed: readonly FailedVersion[],
  options: StartWindowOptions,
): Promise<ResumePoint> {
  const resume = await resumePoint(registry, model, good, options);
  const child = failed.at(-1);
  if (resume.startOffsets !== null || child === undefined) return resume;
  const manifest = await registry.get(model, child.version);
  return manifest.dataRange.kind === 'recurring'
    ? { ...resume, startOffsets: manifest.dataRange.fromOffsets }
    : resume;
}
