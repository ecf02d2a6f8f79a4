import type { z } from 'zod';
import { ConfigError } from '../src/errors';

/** Renders zod issues as `path.to.field: message` lines, so a user sees what is wrong and where. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}

/** Parses `input` with `schema` or throws a ConfigError naming `where` and each bad field. */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: string,
): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`invalid ${where}:\n${formatZodIssues(result.error)}`);
  }
  return result.data;
}
