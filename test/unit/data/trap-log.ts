import { createRng } from '../../../src/rng';

/** Options of {@link trapLogCsv}. */
export interface TrapLogOptions {
  rows: number;
  seed?: number;
  /** Label column coding. @default '01' */
  labelCoding?: '01' | 'yes-no';
  /**
   * Added to the click logit from the first row (0) to the last (this), so the base rate drifts
   * over time and the newest (test) rows have another rate than the training rows. @default 0
   */
  baseRateShift?: number;
}

/**
 * A click log as CSV text with every trap `agp inspect` must catch planted in it, beside real
 * signal (the click rate depends on `app`, `site` and `price`):
 * - `row_id`: unique per row, ~1e18 (an id: as a number it blew the loss up to ~1e16);
 * - `app`: integer-coded id with hundreds of values (as a dense number it scored AUC < 0.5);
 * - `conversion_time`: a timestamp that is null unless the label is 1 (a leak: test AUC 1.000);
 * - `revenue`: 0 unless the label is 1 (a value leak);
 * - `updated_at`: a second timestamp, not the event time;
 * - `event_time`: the event time (ISO), always present;
 * - with `baseRateShift`, a base rate that drifts over time (the test rows' rate differs).
 */
export function trapLogCsv(opts: TrapLogOptions): string {
  const rng = createRng(opts.seed ?? 7);
  const header = [
    'row_id',
    'event_time',
    'app',
    'site',
    'price',
    'updated_at',
    'conversion_time',
    'revenue',
    'click',
  ];
  const lines = [header.join(',')];
  const t0 = Date.UTC(2024, 2, 1);
  for (let i = 0; i < opts.rows; i++) {
    const app = rng.int(400);
    const site = rng.int(30);
    const price = rng.next() * 50;
    const drift = ((opts.baseRateShift ?? 0) * i) / Math.max(1, opts.rows - 1);
    const logit = -1 + drift + (app % 3 === 0 ? 1.5 : -0.5) + (site < 10 ? 1.5 : -0.8) - price / 25;
    const click = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    const t = t0 + i * 61_000;
    const label = opts.labelCoding === 'yes-no' ? (click ? 'yes' : 'no') : String(click);
    lines.push(
      [
        String(1_000_000_000_000_000_000n + BigInt(i) * 7919n),
        new Date(t).toISOString(),
        String(app),
        `s${site}`,
        price.toFixed(2),
        new Date(t + rng.int(72) * 3_600_000).toISOString(),
        click ? new Date(t + 60_000 + rng.int(3_600_000)).toISOString() : '',
        click ? (5 + rng.next() * 20).toFixed(2) : '0',
        label,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
