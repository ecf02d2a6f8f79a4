import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { trapLogCsv } from '../../unit/data/trap-log';

/*
 * The safe path of README "Training on your own data", as a user runs it: `agp inspect --json`
 * on a log with every trap planted (a unique row id, an integer-coded id, a timestamp that is
 * null unless the label is 1, a revenue that is 0 unless it is, a second timestamp; a base rate
 * that shifts over time in a second log), its suggestion pasted into a config as is (with its time split),
 * `agp train --dry-run`, then `agp train`: a sane model, not a leak.
 */

const repo = resolve(__dirname, '..', '..', '..');
const agp = join(repo, 'bin', 'agp.js');
const dir = mkdtempSync(join(tmpdir(), 'agp-inspect-split-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): string {
  return execFileSync(process.execPath, [agp, ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe(
  'agp inspect → suggested config with a time split → agp train',
  { timeout: 300_000 },
  () => {
    it('flags every trap, splits by the event time, and trains a sane model', () => {
      writeFileSync(join(dir, 'clicks.csv'), trapLogCsv({ rows: 6000, seed: 5 }));
      const report = JSON.parse(run(['inspect', 'clicks.csv', '--json'])) as {
        source: Record<string, unknown>;
        timeSplit: Record<string, unknown> | null;
        features: unknown;
        warnings: string[];
        columns: Array<{ name: string; role: string; leak: boolean }>;
      };
      const role = (name: string) => report.columns.find((c) => c.name === name);
      assert.equal(role('row_id')?.role, 'dropped');
      assert.equal(role('app')?.role, 'categorical');
      for (const leak of ['conversion_time', 'revenue', 'updated_at']) {
        assert.ok(role(leak)?.role === 'dropped' && role(leak)?.leak, `${leak} flagged`);
      }
      assert.ok(!report.warnings.some((w) => /base rate shifts/.test(w)), 'no shift planted');
      assert.ok(report.timeSplit !== null);
      assert.equal(report.timeSplit['by'], 'event_time');

      // Pasted as is, the path made relative as a user would write it beside the data.
      const config = {
        name: 'inspect-split',
        data: {
          train: { ...report.source, path: 'clicks.csv' },
          split: report.timeSplit,
          features: report.features,
        },
        model: { bottom: [16, 8], top: [16, 1], embeddingDim: 8, batchSize: 64 },
        agp: { schedule: 'dense' },
        epochs: 3,
        evalPoints: 0,
      };
      writeFileSync(join(dir, 'clicks.json'), JSON.stringify(config, null, 2));
      const dry = JSON.parse(run(['train', '--config', 'clicks.json', '--dry-run', '--json'])) as {
        sources: Array<{ name: string; describe: string; rowsRead: number }>;
      };
      assert.match(
        dry.sources[1]?.describe ?? '',
        /split by event_time, test last \d+%, validation last \d+%: test/,
      );

      run(['train', '--config', 'clicks.json', '--backend', 'cpu', '--out', 'run']);
      const trained = JSON.parse(readFileSync(join(dir, 'run', 'report.json'), 'utf8')) as {
        test: {
          ne: number;
          auc: number;
          rows: number;
          trainBaseRate: number;
          testBaseRate: number;
        };
        validation?: { bestEpoch: number | null };
      };
      const t = trained.test;
      // A leak would give AUC ≈ 1 and NE ≈ 0; an id read as a number a loss explosion.
      assert.ok(t.auc > 0.6 && t.auc < 0.99, `AUC ${t.auc}`);
      assert.ok(
        Number.isFinite(t.ne) && t.ne < 1,
        `NE ${t.ne} (rates: train ${t.trainBaseRate}, test ${t.testBaseRate})`,
      );
      assert.ok(t.rows > 300 && t.rows < 1200, `test rows ${t.rows}`);
      assert.ok(
        trained.validation?.bestEpoch !== null && trained.validation?.bestEpoch !== undefined,
      );

      // A base rate that shifts over time is a warning (the standard NE then charges the shift).
      writeFileSync(
        join(dir, 'shifted.csv'),
        trapLogCsv({ rows: 6000, seed: 5, baseRateShift: 1.5 }),
      );
      const shifted = JSON.parse(run(['inspect', 'shifted.csv', '--json'])) as typeof report;
      assert.ok(
        shifted.warnings.some((w) => /base rate shifts/.test(w)),
        'the rate shift warned',
      );

      // The same config with a test source as well is refused, naming the file and field.
      writeFileSync(
        join(dir, 'both.json'),
        JSON.stringify({ ...config, data: { ...config.data, test: config.data.train } }),
      );
      const both = spawnSync(process.execPath, [agp, 'train', '--config', 'both.json'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.notEqual(both.status, 0);
      assert.match(both.stderr, /both\.json: data\.split: give either data\.split or data\.test/);
    });
  },
);
