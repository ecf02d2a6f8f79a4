import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/cli/registry';
import { openFsRegistry } from '../../../src/registry/fs-store';
import { offlineFields, smallFiles, tempRoot } from './helpers';

/** Runs `agp registry …` in-process, capturing what it prints. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('agp registry', () => {
  let root: string;
  let dispose: () => Promise<void>;
  before(async () => {
    ({ root, dispose } = await tempRoot());
    const store = await openFsRegistry({ root });
    await store.publish('ctr', smallFiles('a'), offlineFields(0.81));
    await store.publish('ctr', smallFiles('b'), {
      phase: 'recurring',
      configHash: 'sha256:abc',
      dataRange: {
        kind: 'recurring',
        fromOffsets: { clicks: { '0': 0, '1': 0 } },
        toOffsets: { clicks: { '0': 50, '1': 70 } },
        eventTime: { min: '2026-11-26T00:00:00.000Z', max: '2026-11-26T00:10:00.000Z' },
      },
      metrics: { ne: 0.7912345, auc: 0.77, events: 120 },
      widths: { bottom: [512, 256, 16], top: [512, 256, 1] },
      backend: 'wasm',
    });
    await store.publish('other', smallFiles('c'), offlineFields(0.9));
  });
  after(() => dispose());

  it('ls lists every model and its versions as a table', async () => {
    const { code, out } = await cli(['ls', '--root', root]);
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.match(
      lines[0] ?? '',
      /^MODEL\s+VERSION\s+PARENT\s+PHASE\s+CREATED \(UTC\)\s+NE\s+AUC\s+SIZE/,
    );
    assert.equal(lines.length, 4);
    assert.match(lines[1] ?? '', /^ctr\s+v000001\s+-\s+offline\s.*0\.8100\s+0\.7500\s+4\.0 KiB$/);
    assert.match(
      lines[2] ?? '',
      /^ctr\s+v000002\s+v000001\s+recurring\s.*0\.7912\s+0\.7700\s.*latest$/,
    );
    assert.match(lines[3] ?? '', /^other\s+v000001\s/);
  });

  it('ls <model> --json gives that model only', async () => {
    const { out } = await cli(['ls', 'ctr', '--json', '--root', root]);
    const listings = JSON.parse(out) as { model: string; versions: { version: string }[] }[];
    assert.deepEqual(
      listings.map((l) => [l.model, l.versions.map((v) => v.version)]),
      [['ctr', ['v000001', 'v000002']]],
    );
  });

  it('show prints the manifest, promote and rollback move the flags', async () => {
    const shown = await cli(['show', 'ctr', '--root', root]);
    assert.match(shown.out, /^ctr v000002 \(latest\)/);
    assert.match(shown.out, /widths\s+bottom 512-256-16 · top 512-256-1/);
    assert.match(shown.out, /clicks \{0: 0→50, 1: 0→70\}/);
    assert.match(shown.out, /events\s+120/);

    assert.equal(
      (await cli(['promote', 'ctr', 'v000001', '--root', root, '--reason', 'x'])).code,
      0,
    );
    const rolled = await cli(['rollback', 'ctr', '--root', root, '--json']);
    assert.deepEqual(JSON.parse(rolled.out), { from: 'v000002', to: 'v000001' });
    const json = JSON.parse((await cli(['show', 'ctr', 'latest', '--json', '--root', root])).out);
    assert.equal(json.manifest.version, 'v000001');
    assert.equal(json.latest, true);
    assert.equal(json.promoted, true);
    assert.match((await cli(['verify', 'ctr', 'v000002', '--root', root])).out, /3 files match/);
  });

  it('bad usage exits 2 with the usage; a bad version is a clear error', async () => {
    const bad = await cli(['promote', 'ctr', '--root', root]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /wrong arguments for 'promote'[\s\S]*usage:/);
    assert.equal((await cli(['frobnicate', '--root', root])).code, 2);
    await assert.rejects(cli(['show', 'ctr', 'v1', '--root', root]), /'v1' is not a version/);
  });

  it('--json errors are JSON; a version directory without a manifest is skipped and reported', async () => {
    const failed = await cli(['show', 'nope', '--json', '--root', root]);
    assert.equal(failed.code, 1);
    const parsed = JSON.parse(failed.out) as {
      ok: boolean;
      error: { kind: string; message: string };
    };
    assert.equal(parsed.ok, false);
    assert.equal(parsed.error.kind, 'ConfigError');
    assert.match(parsed.error.message, /nope has no versions/);

    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(root, 'other', 'versions', 'v000009'), { recursive: true });
    try {
      const ls = await cli(['ls', '--json', '--root', root]);
      assert.equal(ls.code, 0);
      const listings = JSON.parse(ls.out) as { model: string; versions: unknown[] }[];
      assert.deepEqual(
        listings.map((l) => [l.model, l.versions.length]),
        [
          ['ctr', 2],
          ['other', 1],
        ],
      );
      assert.match(ls.err, /skipped other\/versions\/v000009: .*manifest\.json is missing/);
    } finally {
      const { rm } = await import('node:fs/promises');
      await rm(join(root, 'other', 'versions', 'v000009'), { recursive: true, force: true });
    }
  });

  it('shows held versions and discards them', async () => {
    const store = await openFsRegistry({ root });
    const latest = await store.latest('ctr');
    assert.ok(latest);
    const held = await store.publish('ctr', smallFiles('h'), {
      phase: 'recurring',
      configHash: 'sha256:abc',
      dataRange: {
        kind: 'recurring',
        fromOffsets: { clicks: { '0': 50, '1': 70 } },
        toOffsets: { clicks: { '0': 90, '1': 100 } },
        eventTime: null,
      },
      metrics: { ne: 1.2 },
      gate: { held: true, reasons: ['NE 1.2 > 0.79 × 1.03'], comparedWith: latest },
      parent: latest,
    });
    const ls = await cli(['ls', 'ctr', '--root', root]);
    assert.match(ls.out, new RegExp(`${held.version}\\s.*held$`, 'm'));
    const show = await cli(['show', 'ctr', held.version, '--root', root]);
    assert.match(show.out, /\(held\)[\s\S]*gate {7}held \(vs v\d+\)[\s\S]*NE 1\.2 > 0\.79/);
    const discard = await cli([
      'discard',
      'ctr',
      held.version,
      '--root',
      root,
      '--reason',
      'bad burst',
    ]);
    assert.equal(discard.code, 0);
    assert.match((await cli(['ls', 'ctr', '--root', root])).out, /held,discarded$/m);
    assert.equal(await store.latest('ctr'), latest);
  });

  it('label sets, shows and deletes a version label; a missing version is named', async () => {
    const set = await cli(['label', 'other', 'gold', 'v000001', '--root', root]);
    assert.deepEqual([set.code, set.out], [0, 'other: label gold → v000001\n']);
    const shown = await cli(['show', 'other', 'v000001', '--root', root]);
    assert.match(shown.out, /^other v000001 \(latest, label gold\)/);
    const missing = await cli(['label', 'other', 'gold', 'v000007', '--root', root, '--json']);
    assert.equal(missing.code, 1);
    assert.match(
      (JSON.parse(missing.out) as { error: { message: string } }).error.message,
      /cannot label other v000007 'gold': other has no version v000007/,
    );
    const usage = await cli(['label', 'other', 'gold', '--root', root]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /wrong arguments for 'label'/);
    const deleted = await cli(['label', 'other', 'gold', '--delete', '--root', root]);
    assert.deepEqual([deleted.code, deleted.out], [0, 'other: label gold removed\n']);
  });

  it('runs through the agp dispatcher, with a message instead of a stack trace', () => {
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'agp.js');
    const ok = spawnSync(process.execPath, [bin, 'registry', 'ls', 'other', '--root', root], {
      encoding: 'utf8',
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /other\s+v000001/);
    const missing = spawnSync(process.execPath, [bin, 'registry', 'show', 'nope', '--root', root], {
      encoding: 'utf8',
    });
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr.trim(), `agp: nope has no versions in ${root}`);
  });
});
