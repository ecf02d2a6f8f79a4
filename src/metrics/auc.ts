import { checkLengths } from './log-loss';

/**
 * Exact ROC AUC: the probability that a random positive scores above a random negative, ties
 * counting one half (the Mann–Whitney U statistic). Sorts positives' and negatives' scores
 * separately (native typed-array sorts) and merges them, O(n log n). NaN when either class is
 * absent or any score is NaN (a diverged model): NaN has no rank, and the merge below would not
 * advance past it.
 */
export function auc(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(preds, labels);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] as number) > 0.5) nPos++;
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  for (let i = 0, a = 0, b = 0; i < labels.length; i++) {
    const p = preds[i] as number;
    if (Number.isNaN(p)) return NaN;
    if ((labels[i] as number) > 0.5) pos[a++] = p;
    else neg[b++] = p;
  }
  pos.sort();
  neg.sort();
  // For each positive: negatives strictly below it, plus half of those equal to it.
  let below = 0;
  let sum = 0;
  for (let i = 0; i < nPos;) {
    const p = pos[i] as number;
    while (below < nNeg && (neg[below] as number) < p) below++;
    let equal = 0;
    while (below + equal < nNeg && neg[below + equal] === p) equal++;
    let same = 0;
    while (i + same < nPos && pos[i + same] === p) same++;
    sum += same * (below + equal / 2);
    i += same;
  }
  return sum / (nPos * nNeg);
}
