/** Deadlines for the fault tests: a hang fails with an account of where it stuck. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`, or an error with `diagnose()`'s account if it takes longer than `ms`. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  diagnose: () => Promise<string>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    const first = await Promise.race([promise, late]);
    if (first === 'late') throw new Error(`${what}: not done after ${ms} ms\n${await diagnose()}`);
    return first;
  } finally {
    clearTimeout(timer);
  }
}
