import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LrSchedule } from '../../../schemas/lr-schedule';
import { ConfigError } from '../../../src/errors';
import { lrFactorOf } from '../../../src/train/lr-schedule';

const factors = (input: unknown, total: number): number[] => {
  const f = lrFactorOf(LrSchedule.parse(input), total);
  return Array.from({ length: total }, (_, s) => Number(f(s).toFixed(4)));
};

describe('lr schedule', () => {
  it('is constant without decay, and decays over the last 10% by default', () => {
    assert.deepEqual(factors({ decay: 0 }, 4), [1, 1, 1, 1]);
    assert.deepEqual(factors({}, 10), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('warms up linearly and decays linearly to decayTo at the last step', () => {
    assert.deepEqual(
      factors({ warmup: 2, decay: 4 }, 10),
      [0.5, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0],
    );
    assert.deepEqual(factors({ decay: 0.5, decayTo: 0.2 }, 4), [1, 1, 0.6, 0.2]);
  });

  it('rejects a warmup and decay longer than the run, naming both', () => {
    assert.throws(
      () => lrFactorOf(LrSchedule.parse({ warmup: 6, decay: 5 }), 10),
      (e: unknown) =>
        e instanceof ConfigError && /warmup \(6 steps\) and decay \(5 steps\)/.test(e.message),
    );
    assert.throws(() => LrSchedule.parse({ decay: 1.5 }));
    assert.throws(() => LrSchedule.parse({ decayTo: 2 }));
  });
});
