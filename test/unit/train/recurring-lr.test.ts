import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecurringOptimizer } from '../../../schemas/recurring-optimizer';
import { RecurringTrainingInput } from '../../../schemas/workflow-io';
import { ConfigError } from '../../../src/errors';
import { createTrainingLoop } from '../../../src/stream/training-loop';
import {
  handoverStepOf,
  offlineFinalFactorOf,
  recurringLrScale,
} from '../../../src/train/recurring-lr';
import { event, spec } from '../stream/fixtures';
import { encodeEvent } from '../../../src/stream/event-codec';

const parse = (v: unknown) => RecurringOptimizer.parse(v);

describe('recurring.optimizer', () => {
  it('constant: the scale, rescaled to baseLr when one is given', () => {
    assert.equal(recurringLrScale(parse({ schedule: 'constant' }), { configuredLr: 0.2 })(5), 1);
    const f = recurringLrScale(parse({ schedule: 'constant', scale: 0.5, baseLr: 0.1 }), {
      configuredLr: 0.2,
    });
    assert.equal(f(0), 0.25);
    assert.equal(f(1e9), 0.25);
  });

  it('warm-restart: from scale down to finalScale over decaySteps, then flat', () => {
    const f = recurringLrScale(
      parse({ schedule: 'warm-restart', scale: 1, decaySteps: 100, finalScale: 0.2 }),
      { configuredLr: 0.1 },
    );
    assert.equal(f(0), 1);
    assert.ok(Math.abs(f(50) - 0.6) < 1e-12);
    assert.ok(Math.abs(f(100) - 0.2) < 1e-12);
    assert.ok(Math.abs(f(Number.POSITIVE_INFINITY) - 0.2) < 1e-12);
  });

  it("final: the offline schedule's decayTo, refused when it is 0", () => {
    const opt = parse({ schedule: 'final' });
    assert.equal(recurringLrScale(opt, { configuredLr: 0.1, offlineFinalFactor: 0.3 })(7), 0.3);
    assert.throws(
      () => recurringLrScale(opt, { configuredLr: 0.1, offlineFinalFactor: 0 }),
      (e: unknown) => e instanceof ConfigError && /freeze/.test(e.message),
    );
    assert.equal(offlineFinalFactorOf({ train: { lrSchedule: { decayTo: 0.3 } } }), 0.3);
    assert.equal(offlineFinalFactorOf(undefined), undefined);
  });

  it('counts steps from the hand-over across windows', () => {
    assert.equal(handoverStepOf({ phase: 'offline', metrics: {} }, 7812), 7812);
    assert.equal(
      handoverStepOf({ phase: 'recurring', metrics: { handoverStep: 7812 } }, 9000),
      7812,
    );
    assert.equal(
      handoverStepOf({ phase: 'recurring', metrics: {} }, 9000),
      Number.NEGATIVE_INFINITY,
    );
  });

  it('is strict and part of the recurring workflow input', () => {
    assert.throws(() => parse({ schedule: 'constant', scal: 1 }));
    assert.throws(() => parse({ schedule: 'warm-restart', scale: 1 }));
    const input = RecurringTrainingInput.parse({
      model: 'm',
      fromVersion: 'v000001',
      topic: 't',
      optimizer: { schedule: 'constant', scale: 0.5 },
    });
    assert.deepEqual(input.optimizer, { schedule: 'constant', scale: 0.5 });
  });

  it('reaches every step of the recurring training loop', async () => {
    const scales: (number | undefined)[] = [];
    let n = 0;
    const loop = createTrainingLoop({
      trainer: {
        step: (b, opts) => {
          scales.push(opts.lrScale);
          return { loss: 0.5, predictions: new Float32Array(b.size).fill(0.25) };
        },
      },
      spec,
      metrics: { add: () => undefined, snapshot: () => ({}) },
      deadLetters: { add: () => undefined, flush: async () => {}, count: 0, byReason: {} },
      publishVersion: async () => {},
      startOffsets: { t: { '0': 0 } },
      batchSize: 2,
      publishEveryEvents: 100,
      recordTrainedIds: false,
      guard: false,
      lrScale: () => 1 / ++n,
    });
    for (let i = 0; i < 6; i++) {
      await loop.handle({
        topic: 't',
        partition: 0,
        offset: i,
        key: null,
        value: encodeEvent(event(i)),
      });
    }
    assert.deepEqual(scales, [1, 0.5, 1 / 3]);
  });
});
