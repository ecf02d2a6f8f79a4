import type { z } from 'zod';
import { ModelName } from '../../schemas/manifest';
import { formatZodIssues } from '../../schemas/zod-errors';
import { ConfigError, DataError } from '../errors';

/**
 * A registry object's text (a manifest, a model state, an S3 ref) parsed as JSON and checked
 * against its schema; `where` names the file or object in the error. Shared by the stores, so
 * a corrupted object reads the same way whichever store holds it.
 * @throws DataError naming `where`: not JSON, or not what the schema describes.
 */
export function parseStoredJson<S extends z.ZodType>(
  schema: S,
  text: string,
  where: string,
): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new DataError(`${where} is invalid:\n${formatZodIssues(result.error)}`);
  return result.data;
}

/** @throws ConfigError when `model` is not a valid model name. */
export function checkModelName(model: string): void {
  const parsed = ModelName.safeParse(model);
  if (!parsed.success) {
    throw new ConfigError(`invalid model name '${model}': ${formatZodIssues(parsed.error)}`);
  }
}
