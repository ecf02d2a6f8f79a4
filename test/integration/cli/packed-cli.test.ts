import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

/*
 * `npx agp` outside the repository: `npm pack` builds dist/ (prepack) and packs it; the tarball
 * is installed into an empty temp project from the npm registry (--prefer-offline: the local npm
 * cache serves what it has, ~15 s on this machine), and its `agp` runs without the repository
 * and without tsx (the installed package has no src/, so bin/agp.js runs dist/).
 */

const repo = resolve(__dirname, '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'agp-packed-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the packed agp CLI', { timeout: 240_000 }, () => {
  it('installs from its tarball and runs from another directory', () => {
    run('npm', ['pack', '--silent', '--pack-destination', work], repo);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack wrote a tarball');
    const app = join(work, 'app');
    run('mkdir', ['-p', app], work);
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
    run(
      'npm',
      ['install', join(work, tgz), '--prefer-offline', '--no-audit', '--no-fund', '--silent'],
      app,
    );
    const agp = join(app, 'node_modules', '.bin', 'agp');
    assert.match(run(agp, ['--help'], app), /train .*registry/s);
    assert.match(run(agp, ['train', '--help'], app), /--dry-run/);

    // A config beside its data, run from elsewhere: its paths resolve against the config file.
    const data = join(work, 'data');
    run('mkdir', ['-p', data], work);
    writeFileSync(
      join(data, 'config.json'),
      JSON.stringify({
        data: {
          train: { kind: 'synthetic', preset: 'capacity-bound', rows: 256, seed: 1 },
          test: { kind: 'synthetic', preset: 'capacity-bound', rows: 128, seed: 1, split: 'test' },
        },
        outDir: 'run',
      }),
    );
    const out = run(agp, ['train', '--config', join(data, 'config.json'), '--dry-run'], app);
    assert.match(out, /read 256 rows/);
    assert.match(out, /dry run: no training/);
  });
});
