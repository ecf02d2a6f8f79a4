import type { FeatureSpec } from '../../schemas/feature-spec';
import type { SyntheticOptionsInput } from '../../schemas/synthetic';
import { generateBlock, SYNTHETIC_BLOCK_ROWS } from '../data/synthetic/generator';
import { resolveSyntheticConfig, syntheticFeatureSpec } from '../data/synthetic/presets';
import { getTeacher } from '../data/synthetic/teacher';
import type { RawRow } from '../stream/replay';

/**
 * Raw click rows of the synthetic generator, for replay into Kafka: the raw dense values and
 * raw categorical ids, as a log would carry them (not hashed bucket ids), so the recurring
 * trainer encodes them exactly like the offline reader did. Rows are generated block by block,
 * lazily, so a stream of any length costs constant memory.
 */
export function syntheticEventRows(options: SyntheticOptionsInput): {
  spec: FeatureSpec;
  rows: Iterable<RawRow>;
} {
  const cfg = resolveSyntheticConfig(options);
  const spec = syntheticFeatureSpec(cfg);
  const teacher = getTeacher(cfg);
  function* rows(): Generator<RawRow> {
    const blocks = Math.ceil(cfg.rows / SYNTHETIC_BLOCK_ROWS);
    for (let b = 0; b < blocks; b++) {
      const { raw } = generateBlock(teacher, cfg, b);
      for (let r = 0; r < raw.size; r++) {
        const dense: Record<string, number | null> = {};
        spec.dense.forEach((f, i) => {
          const v = raw.dense[i]?.[r] ?? Number.NaN;
          dense[f.name] = Number.isNaN(v) ? null : v;
        });
        const sparse: Record<string, string | number | null> = {};
        spec.sparse.forEach((f, i) => {
          sparse[f.name] = raw.sparse[i]?.[r] ?? null;
        });
        yield { label: raw.labels[r] === 1 ? 1 : 0, dense, sparse };
      }
    }
  }
  return { spec, rows: rows() };
}
