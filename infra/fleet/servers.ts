import { startPrivateS3, type PrivateS3 } from '../private-s3';
import { startPrivateStack, type PrivateStack } from '../private-stack';

/** What {@link startFleetServers} started. */
export interface FleetServers {
  stack: PrivateStack;
  s3: PrivateS3;
}

/**
 * A private Temporal + Kafka and a private S3 server, started at once (the fleet tests and
 * `bench:fleet`). If either fails, the other is stopped again before the error is thrown, so a
 * caller's cleanup never meets a half-started pair.
 */
export async function startFleetServers(
  taskQueue: string,
  ports: Parameters<typeof startPrivateStack>[1],
  label?: string,
): Promise<FleetServers> {
  const [stack, s3] = await Promise.allSettled([
    startPrivateStack(taskQueue, ports, ...(label === undefined ? [] : [label])),
    startPrivateS3(),
  ]);
  if (stack.status === 'rejected' || s3.status === 'rejected') {
    if (stack.status === 'fulfilled') await stack.value.dispose();
    if (s3.status === 'fulfilled') await s3.value.dispose();
    throw [stack, s3].find((r) => r.status === 'rejected')?.reason;
  }
  return { stack: stack.value, s3: s3.value };
}
