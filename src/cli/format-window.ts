import type { CandidateJudgement } from '../../schemas/manifest';
import type { ResolvedWindow } from '../../schemas/training-window';

/** The part of a partition file's path below the template's fixed root (`date=…/part-0.parquet`). */
function partitionPath(template: string, path: string): string {
  const token = template.indexOf('{');
  const root = token < 0 ? '' : template.slice(0, template.lastIndexOf('/', token) + 1);
  return root !== '' && path.startsWith(root) ? path.slice(root.length) : path;
}

/** Dates as `a, b, c` or `none`. */
function dates(list: readonly string[]): string {
  return list.length === 0 ? 'none' : list.join(', ');
}

/**
 * The lines `agp registry show` prints for a version's data window: its nominal time, the
 * dates of each split, the missing days, and each file with its partition path and checksum
 * (or, for a Kafka window, its times and each partition's offsets).
 */
export function formatWindowLines(window: ResolvedWindow): string[] {
  const pad = '             ';
  if (window.kind === 'kafka') {
    return [
      `  window     kafka topic ${window.topic}, nominal time ${window.nominalTime}`,
      `${pad}train ${window.from} → ${window.testFrom} · test ${window.testFrom} → ${window.to}`,
      ...window.partitions.map(
        (p) => `${pad}partition ${p.partition}: ${p.from}→${p.testFrom} train, →${p.to} test`,
      ),
    ];
  }
  const splitDates = (split: 'train' | 'test') => [
    ...new Set(window.files.filter((f) => f.split === split).map((f) => f.date)),
  ];
  return [
    `  window     ${window.format} ${window.fromDate}..${window.toDate} (${window.timeZone}), ` +
      `nominal time ${window.nominalTime}`,
    `${pad}train ${dates(splitDates('train'))} · test ${dates(splitDates('test'))} · ` +
      `missing ${dates(window.missingDates)}`,
    `${pad}template ${window.template}`,
    ...window.files.map(
      (f) =>
        `${pad}${f.date} ${f.split.padEnd(5)} ${partitionPath(window.template, f.path)}  ` +
        `${f.bytes} B  sha256:${f.sha256.slice(0, 16)}…`,
    ),
  ];
}

/** The line of a daily candidate's judgement. */
export function formatJudgementLines(judgement: CandidateJudgement): string[] {
  return [
    `  judged     ${judgement.passed ? 'passed' : 'failed'}` +
      (judgement.comparedWith ? ` vs ${judgement.comparedWith}` : '') +
      ` on ${judgement.on}`,
    `             ${judgement.reason}`,
  ];
}
