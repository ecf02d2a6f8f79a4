import {
  type ModelState,
  type ModelVersion,
  type StateEvent,
  VersionLabel,
} from '../../schemas/manifest';
import { ConfigError, DataError } from '../errors';
import type { RegistryStore } from './store';
import { checkModelName } from './stored-json';

/** Checks a model name and a label name; ConfigError naming the bad one. */
export function checkLabel(model: string, label: string): VersionLabel {
  checkModelName(model);
  const parsed = VersionLabel.safeParse(label);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid label '${label}' for ${model}: ${parsed.error.issues[0]?.message ?? 'not a label'}`,
    );
  }
  return parsed.data;
}

/**
 * Refuses a label target that is not in the registry or does not verify: TF Serving assigns a
 * label only to a version it has loaded, and a label must never send clients to a version no
 * replica can load. The error names the label, the version and why.
 */
export async function checkLabelTarget(
  store: Pick<RegistryStore, 'verify' | 'location'>,
  model: string,
  label: string,
  version: ModelVersion,
): Promise<void> {
  try {
    await store.verify(model, version);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const message =
      `cannot label ${model} ${version} '${label}': ${why} ` +
      `(a label names a version that is in the registry and verifies)`;
    if (error instanceof DataError) throw new DataError(message, { cause: error });
    if (error instanceof ConfigError) throw new ConfigError(message, { cause: error });
    throw error;
  }
}

/** The version `label` names; ConfigError listing the model's labels when it has no such one. */
export function labelOf(model: string, state: ModelState, label: string): ModelVersion {
  const version = state.labels[label];
  if (version === undefined) {
    const known = Object.keys(state.labels);
    throw new ConfigError(
      `${model} has no label '${label}' (labels: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  return version;
}

/**
 * The state after pointing `label` at `version`, or removing it (`version` null; ConfigError
 * when there is no such label), with the change in the history (`event` makes the entry).
 */
export function relabel(
  model: string,
  state: ModelState,
  label: string,
  version: ModelVersion | null,
  event: (action: 'label' | 'unlabel', version: ModelVersion) => StateEvent,
  maxHistory: number,
): ModelState {
  const { [label]: _previous, ...others } = state.labels;
  const entry =
    version === null
      ? { ...event('unlabel', labelOf(model, state, label)), label }
      : { ...event('label', version), label };
  return {
    ...state,
    labels: version === null ? others : { ...others, [label]: version },
    history: [...state.history, entry].slice(-maxHistory),
  };
}
