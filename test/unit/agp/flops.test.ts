import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgpConfig } from '../../../schemas/agp-config';
import { createAgpController } from '../../../src/agp/controller';
import {
  createFlopAccumulator,
  denseStepFlops,
  flopArchOf,
  hiddenWidthsOf,
  stepFlops,
  timelineFlops,
} from '../../../src/agp/flops';

describe('FLOP accounting', () => {
  // numDense 2, one table, bottom 2→3→2 (D = 2), interaction over n = 2 vectors (1 pair),
  // top (2 + 1 = 3)→4→1.
  const tiny = { numDense: 2, numTables: 1, bottom: [3, 2], top: [4, 1] };
  const reference = { numDense: 13, numTables: 26, bottom: [512, 256, 64, 16], top: [512, 256, 1] };

  it('hand-counted multiply-adds of a full-width step', () => {
    const f = denseStepFlops(tiny, 1);
    // forward: bottom.0 3·(2+1)=9, bottom.1 2·(3+1)=8, top.0 4·(3+1)=16, top.1 1·(4+1)=5, interaction 1·2=2
    assert.equal(f.forward, 40);
    // backward: weights+bias = forward per layer, input grads 0 (bottom.0), 6, 12, 4; interaction 4
    assert.equal(f.backward, 9 + 14 + 28 + 9 + 4);
    assert.equal(f.total, 104);
    assert.deepEqual(f.layers['bottom.0'], { forward: 9, backward: 9 });
    assert.deepEqual(f.layers.interaction, { forward: 2, backward: 4 });
    assert.equal(f.embeddingRows, 1);
    const b3 = denseStepFlops(tiny, 3);
    assert.equal(b3.total, 312);
    assert.equal(b3.embeddingRows, 3);
  });

  it('hand-counted multiply-adds at pruned widths, consecutive layers narrowed', () => {
    const f = stepFlops(tiny, { 'bottom.0': 1, 'top.0': 2 }, 1);
    // bottom.0 2→1: 3 + 3; bottom.1 1→2: 4 + (4 + 2); top.0 3→2: 8 + (8 + 6); top.1 2→1: 3 + (3 + 2)
    assert.equal(f.forward, 3 + 4 + 8 + 3 + 2);
    assert.equal(f.backward, 3 + 6 + 14 + 5 + 4);
    assert.equal(f.total, 52);
  });

  it('widths outside 1..full are rejected with the layer named', () => {
    assert.throws(() => stepFlops(tiny, { 'bottom.0': 4 }, 1), /bottom\.0.*1\.\.3/);
    assert.throws(() => stepFlops(tiny, { 'top.0': 0 }, 1), /top\.0/);
  });

  it('arch of a model config and its hidden widths', () => {
    const arch = flopArchOf({ numDense: 13, tableSizes: [5, 6, 7], bottom: [8, 4], top: [6, 1] });
    assert.equal(arch.numTables, 3);
    assert.deepEqual(hiddenWidthsOf(arch), { 'bottom.0': 8, 'top.0': 6 });
  });

  it('accumulator: totals, saving, per phase, resume from JSON', () => {
    const acc = createFlopAccumulator(tiny);
    const full = hiddenWidthsOf(tiny);
    acc.add({ phase: 'warmup', widths: full, batchSize: 1, seconds: 0.5 });
    acc.add({ phase: 'warmup', widths: full, batchSize: 1 });
    const resumed = createFlopAccumulator(tiny, JSON.parse(JSON.stringify(acc.toJSON())));
    resumed.add({
      phase: 'pruned',
      widths: { 'bottom.0': 1, 'top.0': 2 },
      batchSize: 1,
      seconds: 1,
    });
    resumed.addSeconds('pruned', 0.25);
    const t = resumed.totals();
    assert.equal(t.steps, 3);
    assert.equal(t.totalFlops, 260);
    assert.equal(t.denseEquivalentFlops, 312);
    assert.ok(Math.abs(t.saving - (1 - 260 / 312)) < 1e-12);
    assert.equal(t.embeddingRows, 3);
    assert.deepEqual(t.perPhase.warmup, { steps: 2, flops: 208, denseFlops: 208, seconds: 0.5 });
    assert.deepEqual(t.perPhase.pruned, { steps: 1, flops: 52, denseFlops: 104, seconds: 1.25 });
    // the first accumulator is unaffected by the resumed one
    assert.equal(acc.totals().steps, 2);
  });

  it('default schedule on the reference DLRM costs <= 0.60x dense (documented 0.593x)', () => {
    const half = stepFlops(
      reference,
      { 'bottom.0': 256, 'bottom.1': 128, 'bottom.2': 32, 'top.0': 256, 'top.1': 128 },
      128,
    );
    assert.ok(Math.abs(half.total / denseStepFlops(reference, 128).total - 0.3605) < 5e-4);
    for (const totalSteps of [1563, 7813]) {
      const c = createAgpController(parseAgpConfig({}), {
        totalSteps,
        fullWidths: hiddenWidthsOf(reference),
      });
      const t = timelineFlops(reference, c.phases(), 128);
      const ratio = t.totalFlops / t.denseEquivalentFlops;
      assert.ok(ratio <= 0.6 && ratio > 0.57, `ratio ${ratio}`);
      assert.equal(t.steps, totalSteps);
    }
  });
});
