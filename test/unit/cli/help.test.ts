import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * Every command answers `--help` with a usage line and exit code 0, without connecting to
 * anything (before this, `npm run schedule -- --help` died with a stack trace and
 * `npm run worker -- --help` started a worker).
 */
const ROOT = join(__dirname, '..', '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Nothing to connect to: a command that tried would fail instead of printing its usage. */
const env = {
  ...process.env,
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  KAFKA_BROKERS: '127.0.0.1:1',
};

const commands: [string, string, string[]][] = [
  ['npm run schedule', TSX, ['worker/schedule.ts', '--help']],
  ['npm run worker', TSX, ['worker/main.ts', '--help']],
  ['npm start', TSX, ['worker/pipeline.ts', '--help']],
  ['agp', 'node', ['bin/agp.js', '--help']],
  ...['train', 'registry', 'inspect', 'replay', 'serve'].map((c): [string, string, string[]] => [
    `agp ${c}`,
    'node',
    ['bin/agp.js', c, '--help'],
  ]),
  ...['ls', 'show', 'promote', 'discard', 'rollback'].map((c): [string, string, string[]] => [
    `agp registry ${c}`,
    'node',
    ['bin/agp.js', 'registry', c, '--help'],
  ]),
];

describe('every command answers --help', () => {
  for (const [name, command, args] of commands) {
    it(`${name} --help`, () => {
      const run = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, `${name} --help exited ${run.status}: ${run.stderr}`);
      assert.match(run.stdout, /^usage:/m, `${name} --help printed no usage line`);
    });
  }
});
