import type { LoadedVersion } from './loaded-version';
import type { ModelSlot } from './model-slot';
import { parseVersionText } from './version-policy';

/** Which version a request names: none (the serving one), a version, or a label. */
export interface VersionSelector {
  version?: string;
  label?: string;
}

/** TF Serving's canonical error codes this service answers with, and their HTTP statuses. */
export const ERROR_STATUS = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  DEADLINE_EXCEEDED: 408,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** A request's target: a loaded version, or why there is none. */
export type Resolved =
  | { ok: true; slot: ModelSlot; version: LoadedVersion }
  | { ok: false; code: ErrorCode; error: string };

/**
 * The loaded version a request goes to. Like TF Serving, a version or label reaches only a
 * loaded version (the serving one, or the one it replaced during the grace period).
 */
export function resolveServed(
  slots: ReadonlyMap<string, ModelSlot>,
  model: string,
  selector: VersionSelector,
): Resolved {
  const slot = slots.get(model);
  if (slot === undefined) {
    return {
      ok: false,
      code: 'NOT_FOUND',
      error: `Servable not found for request: model '${model}' is not served here (served: ${[...slots.keys()].join(', ')})`,
    };
  }
  const loadedList = (): string => slot.loaded.map((v) => v.version).join(', ') || 'none';
  if (selector.label !== undefined) {
    const version = slot.labels.get(selector.label);
    if (version === undefined) {
      return {
        ok: false,
        code: 'INVALID_ARGUMENT',
        error: `Unrecognized servable version label: ${selector.label} (model '${model}' has ${[...slot.labels.keys()].join(', ') || 'no labels'}; labels set with agp registry label, else stable = newest promoted, canary = latest)`,
      };
    }
    const found = slot.find(version);
    if (found === null) {
      return {
        ok: false,
        code: 'NOT_FOUND',
        error: `label ${selector.label} of model '${model}' names ${version}, which is not loaded (loaded: ${loadedList()})`,
      };
    }
    return { ok: true, slot, version: found };
  }
  if (selector.version !== undefined) {
    const version = parseVersionText(selector.version);
    const found = version === null ? null : slot.find(version);
    if (found === null) {
      return {
        ok: false,
        code: 'NOT_FOUND',
        error: `Servable not found for request: version ${selector.version} of model '${model}' is not loaded (loaded: ${loadedList()})`,
      };
    }
    return { ok: true, slot, version: found };
  }
  const current = slot.current;
  if (current === null) {
    return { ok: false, code: 'UNAVAILABLE', error: `model '${model}' has no version loaded yet` };
  }
  return { ok: true, slot, version: current };
}
