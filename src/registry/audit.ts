import type { Manifest } from '../../schemas/manifest';
import { versionNumber } from './version';

/**
 * An audit of one model's version chain: the promises "exactly once" and "never forked" checked
 * on what the registry actually holds, not on what a trainer believes it did. Pure: it reads
 * manifests only, so it runs the same over the filesystem store or any other.
 *
 * - **No fork:** no version that is served (not held) has two served children.
 * - **No overlap:** no two recurring versions (served or held) trained the same offset of any
 *   partition — a held version's events were skipped by the served chain, not trained again.
 * - **No gap:** per partition, the ranges of the recurring versions, sorted, are contiguous from
 *   the first version's start to the last one's end: every consumed offset is in some version.
 */
export interface ChainAudit {
  versions: number;
  served: number;
  held: number;
  /** Per `topic/partition`: [first offset, end offset) covered by the versions. */
  coverage: Record<string, [number, number]>;
  problems: string[];
}

/** An offset range of one version on one partition. */
interface Range {
  version: string;
  from: number;
  to: number;
}

/**
 * Audits `manifests` (every version of one model that the registry holds). `isHeld` tells held
 * versions (published but never served) apart; they are allowed to be siblings of served ones.
 */
export function auditChain(
  manifests: readonly Manifest[],
  isHeld: (m: Manifest) => boolean = () => false,
): ChainAudit {
  const problems: string[] = [];
  const sorted = [...manifests].sort((a, b) => versionNumber(a.version) - versionNumber(b.version));
  const children = new Map<string, string[]>();
  for (const m of sorted) {
    if (m.parent === null || isHeld(m)) continue;
    const list = children.get(m.parent) ?? [];
    list.push(m.version);
    children.set(m.parent, list);
  }
  for (const [parent, kids] of children) {
    if (kids.length > 1) problems.push(`fork: ${parent} has served children ${kids.join(', ')}`);
  }

  const byPartition = new Map<string, Range[]>();
  for (const m of sorted) {
    if (m.dataRange.kind !== 'recurring') continue;
    for (const [topic, parts] of Object.entries(m.dataRange.toOffsets)) {
      for (const [partition, end] of Object.entries(parts)) {
        const start = m.dataRange.fromOffsets[topic]?.[partition];
        if (start === undefined) continue;
        const from = Number(start);
        const to = Number(end);
        if (to === from) continue;
        if (to < from) {
          problems.push(
            `${m.version}: ${topic}/${partition} ends (${to}) before it starts (${from})`,
          );
          continue;
        }
        const key = `${topic}/${partition}`;
        const list = byPartition.get(key) ?? [];
        list.push({ version: m.version, from, to });
        byPartition.set(key, list);
      }
    }
  }
  const coverage: Record<string, [number, number]> = {};
  for (const [key, ranges] of byPartition) {
    ranges.sort((a, b) => a.from - b.from || a.to - b.to);
    for (let i = 1; i < ranges.length; i++) {
      const prev = ranges[i - 1] as Range;
      const cur = ranges[i] as Range;
      if (cur.from < prev.to) {
        problems.push(
          `overlap: ${key} offsets [${cur.from}, ${Math.min(prev.to, cur.to)}) are in ${prev.version} and ${cur.version}`,
        );
      } else if (cur.from > prev.to) {
        problems.push(
          `gap: ${key} offsets [${prev.to}, ${cur.from}) are in no version (between ${prev.version} and ${cur.version})`,
        );
      }
    }
    const first = ranges[0] as Range;
    coverage[key] = [first.from, Math.max(...ranges.map((r) => r.to))];
  }
  const held = sorted.filter(isHeld).length;
  return {
    versions: sorted.length,
    served: sorted.length - held,
    held,
    coverage,
    problems,
  };
}
