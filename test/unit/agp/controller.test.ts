import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgpConfigInput } from '../../../schemas/agp-config';
import { parseAgpConfig } from '../../../schemas/agp-config';
import type { AgpStepPlan } from '../../../src/agp/controller';
import { agpControllerFromJSON, createAgpController } from '../../../src/agp/controller';
import { hiddenWidthsOf, stepFlops, timelineFlops } from '../../../src/agp/flops';
import { ConfigError } from '../../../src/errors';

describe('AGP controller', () => {
  const full = { 'bottom.0': 8, 'bottom.1': 4, 'top.0': 6 };
  const half = { 'bottom.0': 4, 'bottom.1': 2, 'top.0': 3 };

  /**
   * The schedule logic is tested on the prototype's schedule (ratio 0.5, 10% / 65% / 25%), whose
   * widths and lengths come out round; the shipped defaults have a test of their own.
   */
  const PROTOTYPE: AgpConfigInput = { ratio: 0.5, warmup: 0.1, prune: 0.65, finalDense: 0.25 };
  function controller(
    input: AgpConfigInput,
    totalSteps: number,
    fullWidths: Record<string, number> = full,
  ) {
    return createAgpController(parseAgpConfig({ ...PROTOTYPE, ...input }), {
      totalSteps,
      fullWidths,
    });
  }

  /** Every step's plan as a compact string: phase, widths, event. */
  function trace(c: ReturnType<typeof controller>): string[] {
    return Array.from({ length: c.totalSteps }, (_, s) => show(c.at(s)));
  }
  function show(p: AgpStepPlan): string {
    const w = Object.values(p.widths).join('/');
    return `${p.phase}${p.cycle}:${w}${p.event ? `!${p.event}` : ''}`;
  }
  function repeat(s: string, n: number): string[] {
    return Array.from({ length: n }, () => s);
  }

  it('the shipped defaults: 5 warmup, 85 pruned at 65% width, 10 final in a 100-step run', () => {
    const c = createAgpController(parseAgpConfig({}), {
      totalSteps: 100,
      fullWidths: { 'bottom.0': 10, 'top.0': 5 },
    });
    assert.deepEqual(
      c.phases().map((p) => [p.phase, p.start, p.end, p.widths['bottom.0'], p.widths['top.0']]),
      [
        ['warmup', 0, 5, 10, 5],
        ['pruned', 5, 90, 7, 3],
        ['final', 90, 100, 10, 5],
      ],
    );
  });

  it('prototype schedule, every step of a 100-step run: 10 warmup, 65 pruned, 25 final', () => {
    const c = controller({}, 100);
    assert.deepEqual(trace(c), [
      ...repeat('warmup0:8/4/6', 10),
      'pruned1:4/2/3!prune',
      ...repeat('pruned1:4/2/3', 64),
      'final1:8/4/6!grow',
      ...repeat('final1:8/4/6', 24),
    ]);
    assert.deepEqual(c.at(10).widths, half);
    assert.deepEqual(c.finalWidths, full);
    assert.deepEqual(c.initialWidths, full);
    assert.deepEqual(
      c.phases().map((p) => [p.phase, p.start, p.end, p.event]),
      [
        ['warmup', 0, 10, undefined],
        ['pruned', 10, 75, 'prune'],
        ['final', 75, 100, 'grow'],
      ],
    );
  });

  it('lengths in steps, two cycles, every step', () => {
    const c = controller({ warmup: 2, prune: 3, grow: 1, cycles: 2, finalDense: 2 }, 12);
    assert.deepEqual(trace(c), [
      ...repeat('warmup0:8/4/6', 2),
      'pruned1:4/2/3!prune',
      ...repeat('pruned1:4/2/3', 2),
      'grown1:8/4/6!grow',
      'pruned2:4/2/3!prune',
      ...repeat('pruned2:4/2/3', 2),
      'final2:8/4/6!grow',
      ...repeat('final2:8/4/6', 2),
    ]);
  });

  it('fractions round down to whole steps; the final phase takes the rest', () => {
    // 0.29 × 7 = 2.03 → 2, 0.5 × 7 = 3.5 → 3, final = 7 − 5 = 2 ≥ floor(0.2 × 7) = 1
    const c = controller({ warmup: 0.29, prune: 0.5, finalDense: 0.2 }, 7);
    assert.deepEqual(
      c.phases().map((p) => [p.phase, p.start, p.end]),
      [
        ['warmup', 0, 2],
        ['pruned', 2, 5],
        ['final', 5, 7],
      ],
    );
    // 0.29 × 100 is 28.999… in floating point; it still means 29 steps
    assert.equal(
      controller({ warmup: 0.29, prune: 0.5, finalDense: 0.2 }, 100).phases()[1]?.start,
      29,
    );
  });

  it('no warmup prunes at step 0', () => {
    const c = controller({ warmup: 0, prune: 2, finalDense: 1 }, 4);
    assert.deepEqual(trace(c), [
      'pruned1:4/2/3!prune',
      'pruned1:4/2/3',
      'final1:8/4/6!grow',
      'final1:8/4/6',
    ]);
  });

  it('per-layer ratios; unlisted layers keep their width; widths keep at least one neuron', () => {
    const c = controller(
      { ratio: { 'bottom.0': 0.25, 'top.0': 0.9 }, warmup: 1, prune: 1, finalDense: 1 },
      3,
    );
    assert.deepEqual(c.at(1).widths, { 'bottom.0': 6, 'bottom.1': 4, 'top.0': 1 });
    const odd = controller({ warmup: 1, prune: 1, finalDense: 1 }, 3, {
      'bottom.0': 5,
      'top.0': 1,
    });
    assert.deepEqual(odd.at(1).widths, { 'bottom.0': 3, 'top.0': 1 });
  });

  it('ramped pruning reaches the ratio over k events in the first half of the phase', () => {
    const c = controller({ warmup: 1, prune: 8, ramp: 2, finalDense: 1 }, 10);
    assert.deepEqual(trace(c), [
      'warmup0:8/4/6',
      'pruned1:6/3/5!prune', // ratio 0.25: round(4.5) = 5 for top.0
      'pruned1:6/3/5',
      'pruned1:4/2/3!prune',
      ...repeat('pruned1:4/2/3', 5),
      'final1:8/4/6!grow',
    ]);
    assert.throws(
      () => controller({ warmup: 1, prune: 3, ramp: 2, finalDense: 1 }, 10),
      /ramp: 2 prune events/,
    );
  });

  it('dense baseline never prunes', () => {
    const c = controller({ schedule: 'dense' }, 5);
    assert.deepEqual(trace(c), repeat('warmup0:8/4/6', 5));
  });

  it('prune-only prunes once after the warmup and ends small', () => {
    const c = controller({ schedule: 'prune-only', warmup: 2 }, 6);
    assert.deepEqual(trace(c), [
      ...repeat('warmup0:8/4/6', 2),
      'pruned1:4/2/3!prune',
      ...repeat('pruned1:4/2/3', 3),
    ]);
    assert.deepEqual(c.finalWidths, half);
    assert.throws(
      () => controller({ schedule: 'prune-only', warmup: 6 }, 6),
      /warmup: 6 steps leave no pruned phase/,
    );
  });

  it("small-dense: constant widths whose FLOPs match agp's average", () => {
    const arch = { numDense: 13, numTables: 26, bottom: [512, 256, 64, 16], top: [512, 256, 1] };
    const fullWidths = hiddenWidthsOf(arch);
    const totalSteps = 1000;
    const cfg = parseAgpConfig({ schedule: 'small-dense' });
    const c = createAgpController(cfg, { totalSteps, fullWidths, arch });
    const agp = createAgpController({ ...cfg, schedule: 'agp' }, { totalSteps, fullWidths });
    const agpAvg = timelineFlops(arch, agp.phases(), 1).totalFlops / totalSteps;
    const small = stepFlops(arch, c.initialWidths, 1).total;
    assert.ok(
      Math.abs(small / agpAvg - 1) < 0.005,
      `small-dense ${small} vs agp average ${agpAvg}`,
    );
    assert.ok(
      c.smallDense !== undefined && c.smallDense.multiplier > 0.6 && c.smallDense.multiplier < 0.8,
    );
    assert.deepEqual(c.initialWidths, c.finalWidths);
    for (let s = 0; s < totalSteps; s++) {
      const p = c.at(s);
      assert.equal(p.event, undefined);
      assert.deepEqual(p.widths, c.initialWidths);
    }
    assert.throws(() => createAgpController(cfg, { totalSteps, fullWidths }), ConfigError);
  });

  it('state round-trips through JSON and gives the same plan at every step', () => {
    for (const input of [
      { warmup: 2, prune: 3, grow: 1, cycles: 2, finalDense: 2 },
      { schedule: 'prune-only' as const },
    ]) {
      const c = controller(input, 12);
      const back = agpControllerFromJSON(JSON.parse(JSON.stringify(c)));
      assert.deepEqual(trace(back), trace(c));
    }
    const arch = { numDense: 3, numTables: 2, bottom: [8, 4, 2], top: [6, 1] };
    const sd = createAgpController(parseAgpConfig({ schedule: 'small-dense' }), {
      totalSteps: 20,
      fullWidths: hiddenWidthsOf(arch),
      arch,
    });
    assert.deepEqual(agpControllerFromJSON(JSON.parse(JSON.stringify(sd))).at(7), sd.at(7));
    assert.throws(() => agpControllerFromJSON({ v: 2 }), /agp controller state/);
  });

  it('steps may be asked out of order; out-of-range steps throw', () => {
    const c = controller({}, 100);
    assert.equal(show(c.at(80)), 'final1:8/4/6');
    assert.equal(show(c.at(10)), 'pruned1:4/2/3!prune');
    assert.equal(show(c.at(3)), 'warmup0:8/4/6');
    assert.throws(() => c.at(100), /step 100 is outside/);
    assert.throws(() => c.at(-1), /outside/);
  });

  it('config errors name the field', () => {
    const bad: Array<[AgpConfigInput, number, RegExp]> = [
      [{ ratio: { 'bottom.9': 0.5 } }, 100, /ratio\.bottom\.9: no such hidden layer/],
      [{ warmup: 0.5, prune: 0.5, finalDense: 0.1 }, 100, /must end full-width/],
      [{ warmup: 0.1, prune: 0.9, finalDense: 0 }, 100, /must end full-width.*finalDense 1/],
      [
        { warmup: 0.1, prune: 0.7, finalDense: 0.25 },
        100,
        /final dense phase is too short.*= 105 steps, but the run has 100/,
      ],
      [{ cycles: 2, prune: 0.3 }, 100, /grow: with 2 cycles/],
      [{ prune: 0.001 }, 100, /prune: a pruned phase needs at least 1 step/],
      [{ ratio: 0.01 }, 100, /ratio: removes no neuron/],
    ];
    for (const [input, steps, message] of bad) {
      assert.throws(
        () => controller(input, steps),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    }
    assert.throws(() => controller({}, 0), /positive integer number of steps/);
  });

  it('config schema rejects bad values, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ warmup: 1.5 }, /warmup: a length is an integer/],
      [{ prune: -1 }, /prune:/],
      [{ ratio: 1 }, /ratio/],
      [{ ratio: { bottom0: 0.5 } }, /ratio/],
      [{ growth: 'grow-big' }, /growth/],
      [{ cycles: 0 }, /cycles/],
      [{ warmpu: 0.1 }, /warmpu/],
    ];
    for (const [input, message] of bad) {
      assert.throws(
        () => parseAgpConfig(input),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    }
    const d = parseAgpConfig(undefined);
    assert.deepEqual(
      [
        d.schedule,
        d.importance,
        d.growth,
        d.ratio,
        d.warmup,
        d.prune,
        d.finalDense,
        d.cycles,
        d.ramp,
      ],
      ['agp', 'l2-inout', 'split', 0.35, 0.05, 0.85, 0.1, 1, 1],
    );
  });
});
