import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgpConfig } from '../../../schemas/agp-config';
import { widthLrScale } from '../../../src/agp/lr-scale';

const full = { 'bottom.0': 8, 'bottom.1': 4, 'top.0': 4 };
/** A pruned step at half of every full width. */
const pruned = {
  phase: 'pruned',
  cycle: 1,
  widths: { 'bottom.0': 4, 'bottom.1': 2, 'top.0': 2 },
} as const;

describe('widthLrScale', () => {
  it('is full width / current width while pruned, 1 in the other phases', () => {
    const cfg = parseAgpConfig({});
    assert.equal(widthLrScale(cfg, pruned, full), 2);
    const partly = { ...pruned, widths: { 'bottom.0': 4, 'bottom.1': 4, 'top.0': 4 } };
    assert.equal(widthLrScale(cfg, partly, full), 16 / 12);
    for (const phase of ['warmup', 'grown', 'final'] as const)
      assert.equal(widthLrScale(cfg, { ...pruned, phase }, full), 1, phase);
  });

  it('is 1 when widthScaledLr is off', () => {
    const cfg = parseAgpConfig({ widthScaledLr: false });
    assert.equal(widthLrScale(cfg, pruned, full), 1);
  });
});
