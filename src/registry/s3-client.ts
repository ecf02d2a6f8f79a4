import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type ListObjectsV2CommandOutput,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { S3RegistryConfig } from '../../schemas/registry-config';
import { InfraError } from '../errors';

/** Builds the one S3 client a store uses, from parsed configuration. */
export function createS3Client(config: S3RegistryConfig): S3Client {
  return new S3Client({
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  });
}

/** The HTTP status of an SDK error, when it carries one. */
function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/**
 * True when a conditional write lost: 412 Precondition Failed, or 409 ConditionalRequestConflict
 * (AWS's answer to two conditional writes of one key in flight at once).
 */
export function isPreconditionFailed(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || status === 409;
}

export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return statusOf(error) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/** Wraps an unexpected S3 failure (network, server, permissions) as a retriable InfraError. */
export function s3Failure(what: string, error: unknown): InfraError {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new InfraError(`S3 ${what} failed: ${reason}`, { cause: error });
}

/** An object's body and ETag, or null when it does not exist. */
export async function getObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ body: Uint8Array; etag: string } | null> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    return { body, etag: out.ETag ?? '' };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw s3Failure(`GET s3://${bucket}/${key}`, error);
  }
}

/**
 * Puts an object; with a condition, returns false (instead of throwing) when the server refused
 * it because the precondition failed.
 */
export async function putObject(
  client: S3Client,
  input: PutObjectCommandInput & { Bucket: string; Key: string },
): Promise<boolean> {
  try {
    await client.send(new PutObjectCommand(input));
    return true;
  } catch (error) {
    if (
      (input.IfMatch !== undefined || input.IfNoneMatch !== undefined) &&
      isPreconditionFailed(error)
    ) {
      return false;
    }
    if (statusOf(error) === 501) {
      throw new InfraError(
        `the S3 server refused a conditional PutObject of s3://${input.Bucket}/${input.Key} as not ` +
          'implemented: the registry needs If-None-Match/If-Match on PutObject to fence publishers',
        { retriable: false, cause: error },
      );
    }
    throw s3Failure(`PUT s3://${input.Bucket}/${input.Key}`, error);
  }
}

/** Every page of a listing of `prefix` (optionally one level down, with a delimiter). */
async function forEachPage(
  client: S3Client,
  bucket: string,
  prefix: string,
  delimiter: string | undefined,
  onPage: (page: ListObjectsV2CommandOutput) => void,
): Promise<void> {
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
    } catch (error) {
      throw s3Failure(`LIST s3://${bucket}/${prefix}`, error);
    }
    onPage(page);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** Every key under `prefix` (or the common prefixes one level down, with a delimiter). */
export async function listKeys(
  client: S3Client,
  bucket: string,
  prefix: string,
  delimiter?: string,
): Promise<string[]> {
  const out: string[] = [];
  await forEachPage(client, bucket, prefix, delimiter, (page) => {
    if (delimiter === undefined) for (const o of page.Contents ?? []) out.push(o.Key ?? '');
    else for (const p of page.CommonPrefixes ?? []) out.push(p.Prefix ?? '');
  });
  return out.filter((k) => k.length > 0);
}

/** An object of a listing: its key and when it was last written. */
export interface ListedObject {
  key: string;
  lastModified: Date;
}

/** Every object under `prefix`, with its last-modified time. */
export async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  await forEachPage(client, bucket, prefix, undefined, (page) => {
    for (const o of page.Contents ?? []) {
      if (o.Key) out.push({ key: o.Key, lastModified: o.LastModified ?? new Date(0) });
    }
  });
  return out;
}

/** Deletes every key under `prefix` (best effort is the caller's choice: this throws). */
export async function deletePrefix(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<void> {
  const keys = await listKeys(client, bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    try {
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    } catch (error) {
      throw s3Failure(`DELETE under s3://${bucket}/${prefix}`, error);
    }
  }
}
