import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { portInUse } from '../../../infra/process';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** A port nothing listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Pids of processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('infra:up / infra:down on a separate data directory and ports', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-infra-test-'));
  let env: NodeJS.ProcessEnv = {};

  const infra = async (command: string) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'infra/main.ts', command],
      { cwd: REPO, env, timeout: 180_000 },
    );
    return stdout;
  };
  const pids = () =>
    ['temporal', 'kafka'].map((c) =>
      fs.readFileSync(path.join(dataDir, 'pids', `${c}.pid`), 'utf8').trim(),
    );

  after(async () => {
    await infra('down').catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('up twice is harmless, down leaves no process of ours behind', async () => {
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const [temporalPort, uiPort, kafkaPort, controllerPort] = ports.map(String);
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: '',
      KAFKA_BROKERS: '',
      AGP_DATA_DIR: dataDir,
      AGP_TEMPORAL_PORT: temporalPort,
      AGP_TEMPORAL_UI_PORT: uiPort,
      AGP_KAFKA_PORT: kafkaPort,
      AGP_KAFKA_CONTROLLER_PORT: controllerPort,
    };

    const first = await infra('up');
    assert.match(first, /temporal +started/);
    assert.match(first, /kafka +started/);
    const before = pids();

    const second = await infra('up');
    assert.match(second, /temporal +running/);
    assert.match(second, /kafka +running/);
    assert.deepEqual(pids(), before, 'the second up reuses the same processes');

    const status = await infra('status');
    assert.match(status, /temporal +up/);
    assert.match(status, /kafka +up/);

    const down = await infra('down');
    assert.match(down, /stopped temporal, kafka/);
    assert.deepEqual(processesMentioning(dataDir), []);
    for (const port of ports) assert.equal(await portInUse(port), false, `port ${port} freed`);
    assert.equal(fs.existsSync(path.join(dataDir, 'pids', 'temporal.pid')), false);
  });
});
