import { eventFields } from '../../schemas/feature-spec';
import type { LoadedVersion } from './loaded-version';
import type { PredictBatcher } from './predict-batcher';
import { eventsOfInstances, type RequestIssue } from './predict-request';
import type { FeatureNames, ReadInstances } from './request-forms';

const namesBySpec = new WeakMap<object, FeatureNames>();

/** The feature names of a version in its signature's tensor order (dense, then sparse). */
export function featureNames(version: LoadedVersion): FeatureNames {
  let names = namesBySpec.get(version.spec);
  if (names === undefined) {
    names = eventFields(version.spec);
    namesBySpec.set(version.spec, names);
  }
  return names;
}

/** One line naming every issue, for TF Serving's `{"error": "..."}`. */
export function describeIssues(issues: readonly RequestIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/**
 * Scores a request's instances on `version` (the caller holds a lease on it): the click
 * probabilities, or the issues that make an instance unscorable.
 */
export async function scoreInstances(
  version: LoadedVersion,
  read: (names: FeatureNames) => ReadInstances,
  batcher: PredictBatcher,
): Promise<{ predictions: Float32Array; form: 'row' | 'columnar' } | { issues: RequestIssue[] }> {
  const parsed = read(featureNames(version));
  if ('issues' in parsed) return parsed;
  const encoded = eventsOfInstances(parsed.instances, version.spec);
  if ('issues' in encoded) return encoded;
  return { predictions: await batcher.score(version, encoded.events), form: parsed.form };
}
