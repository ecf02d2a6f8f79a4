import type { z } from 'zod';
import { ConfigError } from '../src/errors';

function joinPath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(root)';
}

/**
 * Renders zod issues as `path.to.field: message` lines, so a user sees what is wrong and where;
 * an unknown key is its own line, `path.to.key: unknown field`. `pathPrefix` places the
 * schema's paths inside a larger document (e.g. `model` of a training config).
 */
export function formatZodIssues(
  error: z.ZodError,
  pathPrefix: readonly PropertyKey[] = [],
): string {
  return error.issues
    .flatMap((issue) => {
      const path = [...pathPrefix, ...issue.path];
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => `${joinPath([...path, key])}: unknown field`);
      }
      return [`${joinPath(path)}: ${issue.message}`];
    })
    .join('\n');
}

/** Parses `input` with `schema` or throws a ConfigError naming `where` and each bad field. */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: string,
  pathPrefix: readonly PropertyKey[] = [],
): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`invalid ${where}:\n${formatZodIssues(result.error, pathPrefix)}`);
  }
  return result.data;
}
