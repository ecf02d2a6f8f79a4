/**
 * Runs `work` on every item, at most `limit` at a time, and resolves with the results in the
 * items' order. Used where a sequence of independent I/O steps (a checkpoint's files, a
 * version's uploads) would otherwise cost one event-loop turn each, in a row: a recurring window
 * publishes in the background while training holds the JS thread, so each turn can wait for a
 * training step. The first failure rejects once the started work has settled (no write is left
 * running behind the caller's cleanup).
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}
