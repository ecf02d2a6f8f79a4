import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { openFsRegistry } from '../../src/registry';

const ROOT = resolve(__dirname, '..', '..');
let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Runs a command to completion, collecting its output. */
function runToEnd(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', fail);
    child.once('exit', (code) => done({ code: code ?? 1, out }));
  });
}

test('the main command runs the whole pipeline: offline AGP version, then recurring versions from Kafka', async () => {
  assert.ok(
    process.env.TEMPORAL_ADDRESS && process.env.KAFKA_BROKERS,
    'run through npm test (servers)',
  );
  dataDir = await mkdtemp(join(tmpdir(), 'agp-e2e-'));
  const model = `e2e-${Date.now().toString(36)}`;
  const { code, out } = await runToEnd(
    [
      '--import',
      'tsx',
      'worker/pipeline.ts',
      '--model',
      model,
      '--rows',
      '4000',
      '--test-rows',
      '1000',
      '--versions',
      '2',
      '--events-per-version',
      '600',
      '--rate',
      '4000',
    ],
    { ...process.env, AGP_DATA_DIR: dataDir, AGP_TASK_QUEUE: `e2e-${model}` },
  );
  assert.equal(code, 0, `npm start failed:\n${out}`);
  assert.match(out, /versions:\s+2 recurring/);

  const registry = await openFsRegistry({ root: join(dataDir, 'registry') });
  const [listing] = await registry.list(model);
  assert.ok(listing, 'the model is in the registry');
  const manifests = await Promise.all(listing.versions.map((v) => registry.get(model, v.version)));
  assert.deepEqual(
    manifests.map((m) => m.phase),
    ['offline', 'recurring', 'recurring'],
  );
  // An unbroken parent chain, each version verified by checksum.
  for (let i = 1; i < manifests.length; i++) {
    assert.equal(manifests[i]?.parent, manifests[i - 1]?.version);
  }
  for (const m of manifests) await registry.verify(model, m.version);
});
