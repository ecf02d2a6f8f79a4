import { z } from 'zod';
import { ModelName, ModelVersion } from '../../schemas/manifest';
import { ConfigError } from '../errors';
import type { RegistryStore } from '../registry/store';
import { asVersion, compareVersions, formatVersion } from '../registry/version';

/**
 * Which version of a model the scoring service serves: whatever `latest` names (the default;
 * a registry rollback moves it back), the newest version an operator promoted, or one pinned
 * version.
 */
export const VersionPolicy = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('latest') }),
  z.object({ kind: z.literal('promoted') }),
  z.object({ kind: z.literal('pinned'), version: ModelVersion }),
]);
export type VersionPolicy = z.infer<typeof VersionPolicy>;

/** A served model and its policy. */
export const ServedModel = z.object({ model: ModelName, policy: VersionPolicy });
export type ServedModel = z.infer<typeof ServedModel>;

/** `latest`, `promoted` or a version id (`v000042`, or just `42`). */
export function describePolicy(policy: VersionPolicy): string {
  return policy.kind === 'pinned' ? `pinned ${policy.version}` : policy.kind;
}

/**
 * Parses `NAME`, `NAME@latest`, `NAME@promoted` or `NAME@v000042` (`NAME@42`), as `agp serve
 * --model` takes them.
 * @throws ConfigError naming the argument.
 */
export function parseServedModel(text: string): ServedModel {
  const at = text.lastIndexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const policyText = at < 0 ? 'latest' : text.slice(at + 1);
  if (!ModelName.safeParse(name).success) {
    throw new ConfigError(
      `--model ${text}: '${name}' is not a model name (1–128 letters, digits, ".", "_" or "-")`,
    );
  }
  if (policyText === 'latest' || policyText === 'promoted') {
    return { model: name, policy: { kind: policyText } };
  }
  const version = parseVersionText(policyText);
  if (version === null) {
    throw new ConfigError(
      `--model ${text}: the policy after '@' is latest, promoted or a version (v000042 or 42), not '${policyText}'`,
    );
  }
  return { model: name, policy: { kind: 'pinned', version } };
}

/** `v000042` or `42` (TF Serving's integer versions) as a version id; null otherwise. */
export function parseVersionText(text: string): ModelVersion | null {
  if (/^\d{1,15}$/.test(text)) {
    const n = Number(text);
    return n >= 1 ? formatVersion(n) : null;
  }
  return asVersion(text);
}

/**
 * The version `policy` asks for right now, or null when there is none yet (an empty model, or
 * nothing promoted). Cheap enough to poll: it reads the `latest` pointer or the model's state.
 */
export async function targetVersion(
  store: RegistryStore,
  model: string,
  policy: VersionPolicy,
): Promise<ModelVersion | null> {
  switch (policy.kind) {
    case 'latest':
      return store.latest(model);
    case 'pinned':
      return policy.version;
    case 'promoted': {
      const state = await store.state(model);
      const discarded = new Set<string>(state.discarded);
      const candidates = state.promoted.filter((v) => !discarded.has(v)).sort(compareVersions);
      return candidates.at(-1) ?? null;
    }
  }
}

/**
 * TF Serving's version labels as the registry has them: first the labels an operator set
 * (`agp registry label`), then, for `stable` and `canary` when not set there, the built-in
 * mapping: `stable` is the newest promoted version (what the `promoted` policy serves),
 * `canary` is `latest`. A label with no version is left out.
 */
export async function labelVersions(
  store: RegistryStore,
  model: string,
): Promise<Map<string, ModelVersion>> {
  const [state, stable, canary] = await Promise.all([
    store.state(model),
    targetVersion(store, model, { kind: 'promoted' }),
    targetVersion(store, model, { kind: 'latest' }),
  ]);
  const labels = new Map<string, ModelVersion>(Object.entries(state.labels));
  if (stable !== null && !labels.has('stable')) labels.set('stable', stable);
  if (canary !== null && !labels.has('canary')) labels.set('canary', canary);
  return labels;
}
