import type { ResolvedWindow } from '../../schemas/training-window';

/** What a run's test split is, in a few words: its days, its event times, or its source kind. */
export function describeTestSplit(window: ResolvedWindow | undefined, kind: string): string {
  if (window?.kind === 'files') {
    const dates = [...new Set(window.files.filter((f) => f.split === 'test').map((f) => f.date))];
    return `test ${dates.length === 1 ? 'day' : 'days'} ${dates.join(', ')}`;
  }
  if (window?.kind === 'kafka') return `test events ${window.testFrom}..${window.to}`;
  return `the ${kind} test split`;
}
