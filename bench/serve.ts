/**
 * `npm run bench:serve`: the scoring service under load, on the reference DLRM shape (26 tables,
 * dim 16, bottom 13-512-256-64-16, top 367-512-256-1). The service runs as the real command
 * (`agp serve`, a child process) and autocannon drives it from this process: throughput and
 * p50/p99 latency at 1, 8 and 64 instances per request and concurrency 1, 16, 64, then the same
 * while a new version is published every 5 s (errors must be 0), and the in-process `predict`
 * rows/s at the same batch sizes (events encoded the same way) for the served/in-process ratio.
 * Writes bench/results/serve.json.
 *
 *   npm run bench:serve -- [--short] [--table-rows N] [--label TEXT]
 *
 * `--short` (3 s cells, 6 s while swapping, 10k-row tables) is for a busy machine; the default is
 * 10 s cells, 15 s while swapping and 100k-row tables.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { ClickEvent } from '../schemas/click-event';
import { FeatureSpec } from '../schemas/feature-spec';
import { ModelConfig } from '../schemas/model-config';
import { initBackend } from '../src/model/backend';
import { saveCheckpoint } from '../src/model/checkpoint';
import { createTrainer } from '../src/model/trainer';
import { clickModelLoader } from '../src/pipeline/click-predictor';
import { openFsRegistry, type FsRegistryStore } from '../src/registry/fs-store';
import { loadVersion } from '../src/registry/load';
import { createRng, type Rng } from '../src/rng';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    'table-rows': { type: 'string' },
    label: { type: 'string' },
  },
});
const short = values.short;
const tableRows = Number(values['table-rows'] ?? (short ? 10_000 : 100_000));
const cellSeconds = short ? 3 : 10;
const swapCellSeconds = short ? 6 : 15;
const SWAP_EVERY_MS = 5000;
const INSTANCES = [1, 8, 64];
const CONCURRENCY = [1, 16, 64];
const MODEL = 'bench';

const spec = FeatureSpec.parse({
  dense: Array.from({ length: 13 }, (_, i) => ({ name: `d${i}`, transform: 'log1p' })),
  sparse: Array.from({ length: 26 }, (_, i) => ({ name: `c${i}`, buckets: tableRows })),
});

function modelConfig(seed: number): ModelConfig {
  return ModelConfig.parse({
    numDense: 13,
    tableSizes: Array(26).fill(tableRows),
    embeddingDim: 16,
    bottom: [512, 256, 64, 16],
    top: [512, 256, 1],
    batchSize: 128,
    seed,
  });
}

/** A Criteo-like feature record: heavy-tailed counts, hex-ish categorical values. */
function record(rng: Rng): Pick<ClickEvent, 'dense' | 'sparse'> {
  return {
    dense: Object.fromEntries(
      spec.dense.map((d) => [d.name, Math.floor(Math.exp(rng.next() * 8)) - 1]),
    ),
    sparse: Object.fromEntries(
      spec.sparse.map((s) => [s.name, (rng.int(1 << 20) * 2654435761).toString(16)]),
    ),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Rows per second of the in-process predictor at batch `size` (encoding included). */
async function inProcess(store: FsRegistryStore, size: number, seconds: number): Promise<number> {
  const predictor = await loadVersion(store, MODEL, 'latest', clickModelLoader);
  try {
    const rng = createRng(size);
    const batches = Array.from({ length: 16 }, (_, b) =>
      Array.from({ length: size }, (_, i) => ({
        v: 1 as const,
        eventId: `e${b}-${i}`,
        eventTime: Date.now(),
        label: 0 as const,
        ...record(rng),
      })),
    );
    for (const batch of batches) predictor.predict(batch);
    let rows = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      predictor.predict(batches[rows % batches.length]!);
      rows += size;
    }
    return rows / ((performance.now() - start) / 1000);
  } finally {
    predictor.dispose();
  }
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const loadStart = loadavg();
  const work = await mkdtemp(join(tmpdir(), 'agp-bench-serve-'));
  const root = join(work, 'registry');
  const store = await openFsRegistry({ root, keep: 4 });
  const checkpoints: string[] = [];
  for (const seed of [1, 2]) {
    const trainer = createTrainer(modelConfig(seed));
    const dir = join(work, `ckpt-${seed}`);
    await saveCheckpoint(dir, trainer, null);
    trainer.dispose();
    checkpoints.push(dir);
  }
  let published = 0;
  const publish = async (): Promise<void> => {
    const latest = await store.latest(MODEL);
    await store.publish(
      MODEL,
      { sourceDir: checkpoints[published % 2]! },
      {
        parent: latest,
        phase: latest === null ? 'offline' : 'recurring',
        configHash: 'sha256:bench',
        dataRange:
          latest === null
            ? { kind: 'offline', source: 'bench', rows: 0 }
            : {
                kind: 'recurring',
                fromOffsets: { bench: { '0': String(published) } },
                toOffsets: { bench: { '0': String(published + 1) } },
                eventTime: { min: Date.now() - 1000, max: Date.now() },
              },
        metrics: {},
        config: { train: {}, features: spec },
      },
    );
    published++;
  };
  await publish();

  const inProcessRowsPerSecond: Record<string, number> = {};
  for (const size of INSTANCES) {
    inProcessRowsPerSecond[String(size)] = Math.round(await inProcess(store, size, short ? 2 : 5));
    process.stdout.write(
      `in-process predict, batch ${size}: ${inProcessRowsPerSecond[String(size)]} rows/s\n`,
    );
  }

  const port = await freePort();
  const server = spawn(
    process.execPath,
    [
      // The CLI itself rather than bin/agp.js, whose extra process would outlive a SIGTERM.
      '--import',
      'tsx',
      join(__dirname, '..', 'src', 'cli', 'main.ts'),
      'serve',
      '--model',
      MODEL,
      '--root',
      root,
      '--no-watch',
      '--port',
      String(port),
      '--poll-ms',
      '500',
      '--grace-ms',
      '2000',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, AGP_BACKEND: backend } },
  );
  const url = `http://127.0.0.1:${port}`;
  const rows: {
    instancesPerRequest: number;
    concurrency: number;
    swapping: boolean;
    requestsPerSecond: number;
    rowsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
  }[] = [];
  try {
    const deadline = Date.now() + 120_000;
    while (
      (await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > deadline) throw new Error('agp serve did not become ready in 120 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const rng = createRng(7);
    for (const swapping of [false, true]) {
      for (const instancesPerRequest of INSTANCES) {
        const requests = Array.from({ length: 8 }, () => ({
          method: 'POST',
          path: `/v1/models/${MODEL}:predict`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            instances: Array.from({ length: instancesPerRequest }, () => record(rng)),
          }),
        }));
        for (const concurrency of CONCURRENCY) {
          let swapper: NodeJS.Timeout | undefined;
          let swapping_ = Promise.resolve();
          if (swapping) {
            swapper = setInterval(() => {
              swapping_ = swapping_.then(publish);
            }, SWAP_EVERY_MS);
          }
          const result = await autocannon({
            url,
            connections: concurrency,
            duration: swapping ? swapCellSeconds : cellSeconds,
            timeout: 10,
            requests,
          });
          if (swapper) clearInterval(swapper);
          await swapping_;
          const row = {
            instancesPerRequest,
            concurrency,
            swapping,
            requestsPerSecond: Math.round(result.requests.average),
            rowsPerSecond: Math.round(result.requests.average * instancesPerRequest),
            p50Ms: result.latency.p50,
            p99Ms: result.latency.p99,
            errors: result.errors + result.timeouts + result.non2xx,
          };
          rows.push(row);
          process.stdout.write(`${JSON.stringify(row)}\n`);
        }
      }
    }
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  const cpu = cpus();
  const result = {
    machine:
      `${values.label ?? (short ? 'busy machine, short run (3 s cells, 6 s while swapping)' : 'full run')}; ` +
      `${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ` +
      `tfjs backend ${backend}, tables 26 × ${tableRows} rows, ${published} versions published; ` +
      `load average at start ${loadStart.map((x) => x.toFixed(1)).join(' ')}, at end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; ` +
      `command: npm run bench:serve -- ${process.argv.slice(2).join(' ')}`.trim(),
    rows,
    inProcessRowsPerSecond,
    // Click → served freshness needs the main command's pipeline (events, training, publish);
    // this benchmark serves synthetic versions, so it does not measure it.
    freshness: { medianSeconds: null, maxSeconds: null, samples: 0 },
  };
  const out = join(__dirname, 'results', 'serve.json');
  await mkdir(join(__dirname, 'results'), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  const at = (ipr: number, c: number) =>
    rows.find((r) => !r.swapping && r.instancesPerRequest === ipr && r.concurrency === c);
  const swapErrors = rows.filter((r) => r.swapping).reduce((s, r) => s + r.errors, 0);
  const best64 = Math.max(
    ...rows.filter((r) => r.instancesPerRequest === 64 && !r.swapping).map((r) => r.rowsPerSecond),
  );
  process.stdout.write(
    `goals: errors while swapping ${swapErrors} (goal 0); p99 at 1 instance, c16 ${at(1, 16)?.p99Ms} ms (goal ≤ 20); ` +
      `served/in-process rows/s at 64 instances ${(best64 / (inProcessRowsPerSecond['64'] ?? 1)).toFixed(2)} (goal ≥ 0.5)\nwrote ${out}\n`,
  );
  await rm(work, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
