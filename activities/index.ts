import { createDailyActivities, type DailyDeps } from './daily';
import { createEvaluateActivities, type EvaluateDeps } from './evaluate';
import { createOfflineActivities, type OfflineDeps } from './offline';
import { createRecurringActivities, type RecurringDeps } from './recurring';
import { createRegistryActivities, type RegistryDeps } from './registry';
import { createSmokeActivities, type SmokeDeps } from './smoke';
import { createWindowActivities, type WindowDeps } from './training-window';

/** Everything the activities need, built once by the worker. */
export type ActivityDeps = SmokeDeps &
  OfflineDeps &
  RecurringDeps &
  EvaluateDeps &
  RegistryDeps &
  WindowDeps &
  DailyDeps;

/**
 * All activities of the product, built over their dependencies. Workflows proxy them as
 * `proxyActivities<Activities>()`; each area adds its factory here.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
    ...createOfflineActivities(deps),
    ...createRecurringActivities(deps),
    ...createEvaluateActivities(deps),
    ...createRegistryActivities(deps),
    ...createWindowActivities(deps),
    ...createDailyActivities(deps),
  };
}

/** The activities' type, for `proxyActivities`. */
export type Activities = ReturnType<typeof createActivities>;
