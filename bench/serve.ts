/**
 * `npm run bench:serve`: the scoring service under load, on the reference DLRM shape (26 tables,
 * dim 16, bottom 13-512-256-64-16, top 367-512-256-1). The service runs as the real command
 * (`agp serve`, a child process) and is driven from this process over both of its protocols:
 * REST by autocannon, gRPC `Predict` by a grpc-js client keeping as many calls in flight
 * (bench/serve/grpc-load.ts), with the same records in every request of a cell. Throughput and
 * p50/p99 latency at 1, 8 and 64 instances per request and concurrency 1, 16, 64, then the same
 * while a new version is published every 5 s (errors must be 0); each cell runs once per
 * protocol, back to back, the first protocol alternating from cell to cell so machine-speed
 * drift does not favour one. Then the in-process `predict` rows/s at the same batch sizes for
 * the served/in-process ratio, and click → served freshness from the product's own pipeline
 * (bench/serve/freshness.ts: private Temporal + Kafka on BENCH_SERVE_PORTS). Writes
 * bench/results/serve.json.
 *
 *   npm run bench:serve -- [--short | --quick] [--table-rows N] [--label TEXT] [--no-freshness]
 *
 * `--short` (3 s cells, 6 s while swapping, 10k-row tables) is for a busy machine; the default is
 * 10 s cells, 15 s while swapping and 100k-row tables. `--quick` only proves the benchmark runs
 * end to end (1 and 8 instances × concurrency 1 and 16, 2 s cells, 5 s while swapping every 2 s,
 * a 2-version freshness run): its figures are not for comparison.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
import { measureFreshness, type Freshness } from './serve/freshness';
import { ghzLoad } from './serve/ghz-load';
import { encodePredictRequests, grpcLoad } from './serve/grpc-load';
import { installGhz } from '../infra/ghz';
import { startServe } from './serve/serve-process';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    'no-freshness': { type: 'boolean', default: false },
    /** The gRPC load generator: ghz (a Go client, built into .cache) or grpc-js in this process. */
    'grpc-client': { type: 'string', default: 'ghz' },
    'table-rows': { type: 'string' },
    label: { type: 'string' },
  },
});
const quick = values.quick;
const grpcClient = values['grpc-client'];
if (grpcClient !== 'ghz' && grpcClient !== 'grpc-js') {
  console.error(`bench:serve: --grpc-client must be ghz or grpc-js, got '${grpcClient}'`);
  process.exit(2);
}
const short = values.short || quick;
const tableRows = Number(values['table-rows'] ?? (short ? 10_000 : 100_000));
const cellSeconds = quick ? 2 : short ? 3 : 10;
const swapCellSeconds = quick ? 5 : short ? 6 : 15;
const SWAP_EVERY_MS = quick ? 2000 : 5000;
const INSTANCES = quick ? [1, 8] : [1, 8, 64];
const CONCURRENCY = quick ? [1, 16] : [1, 16, 64];
const PROTOCOLS = ['rest', 'grpc'] as const;
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

/** The service's `process_cpu_seconds_total` from its /metrics, or null if it cannot be read. */
async function serverCpuSeconds(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = /^process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return line ? Number(line[1]) : null;
  } catch {
    return null;
  }
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
  const ghz =
    grpcClient === 'ghz'
      ? await installGhz((line) => process.stdout.write(`bench:serve: ${line}\n`))
      : undefined;
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

  const server = await startServe({
    args: [
      '--model',
      MODEL,
      '--root',
      root,
      '--no-watch',
      '--poll-ms',
      '500',
      '--grace-ms',
      '2000',
    ],
    grpc: true,
    env: { ...process.env, AGP_BACKEND: backend },
  });
  const url = server.url;
  const grpcAddress = server.grpcAddress as string;
  const rows: {
    protocol: (typeof PROTOCOLS)[number];
    /** The load generator: autocannon (REST), ghz or grpc-js (gRPC). */
    client: string;
    instancesPerRequest: number;
    concurrency: number;
    swapping: boolean;
    requestsPerSecond: number;
    rowsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    /** The service's CPU time (process_cpu_seconds_total) per answered request: load-insensitive. */
    serverCpuMsPerRequest: number | null;
  }[] = [];
  try {
    const rng = createRng(7);
    let cell = 0;
    for (const swapping of [false, true]) {
      for (const instancesPerRequest of INSTANCES) {
        // The same 8 requests (the same records) for both protocols: named feature maps over
        // REST, the signature's tensors over gRPC.
        const records = Array.from({ length: 8 }, () =>
          Array.from({ length: instancesPerRequest }, () => record(rng)),
        );
        const requests = records.map((instances) => ({
          method: 'POST',
          path: `/v1/models/${MODEL}:predict`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances }),
        }));
        const grpcRequests = encodePredictRequests(MODEL, spec, records);
        for (const concurrency of CONCURRENCY) {
          const order =
            cell++ % 2 === 0
              ? PROTOCOLS
              : ([...PROTOCOLS].reverse() as (typeof PROTOCOLS)[number][]);
          for (const protocol of order) {
            let swapper: NodeJS.Timeout | undefined;
            let swapping_ = Promise.resolve();
            if (swapping) {
              swapper = setInterval(() => {
                swapping_ = swapping_.then(publish);
              }, SWAP_EVERY_MS);
            }
            const seconds = swapping ? swapCellSeconds : cellSeconds;
            const cpuBefore = await serverCpuSeconds(url);
            let measured: {
              requestsPerSecond: number;
              p50Ms: number;
              p99Ms: number;
              errors: number;
            };
            if (protocol === 'rest') {
              const result = await autocannon({
                url,
                connections: concurrency,
                duration: seconds,
                timeout: 10,
                requests,
              });
              measured = {
                requestsPerSecond: result.requests.average,
                p50Ms: result.latency.p50,
                p99Ms: result.latency.p99,
                errors: result.errors + result.timeouts + result.non2xx,
              };
            } else {
              const load = {
                address: grpcAddress,
                requests: grpcRequests,
                concurrency,
                seconds,
                timeoutSeconds: 10,
              };
              measured = ghz === undefined ? await grpcLoad(load) : await ghzLoad({ ...load, ghz });
            }
            const cpuAfter = await serverCpuSeconds(url);
            if (swapper) clearInterval(swapper);
            await swapping_;
            const row = {
              protocol,
              client: protocol === 'rest' ? 'autocannon' : grpcClient,
              instancesPerRequest,
              concurrency,
              swapping,
              requestsPerSecond: Math.round(measured.requestsPerSecond),
              rowsPerSecond: Math.round(measured.requestsPerSecond * instancesPerRequest),
              p50Ms: measured.p50Ms,
              p99Ms: measured.p99Ms,
              errors: measured.errors,
              serverCpuMsPerRequest:
                cpuBefore === null || cpuAfter === null || measured.requestsPerSecond === 0
                  ? null
                  : Math.round(
                      ((cpuAfter - cpuBefore) * 1e5) / (measured.requestsPerSecond * seconds),
                    ) / 100,
            };
            rows.push(row);
            process.stdout.write(`${JSON.stringify(row)}\n`);
          }
        }
      }
    }
  } finally {
    await server.stop();
  }
  let freshness: Freshness | { medianSeconds: null; maxSeconds: null; samples: 0; method: string } =
    {
      medianSeconds: null,
      maxSeconds: null,
      samples: 0,
      method: 'not measured (--no-freshness)',
    };
  if (!values['no-freshness']) {
    freshness = await measureFreshness({
      versions: quick ? 2 : 6,
      eventsPerVersion: quick ? 1_000 : 4_000,
      rate: 1_000,
      offlineRows: quick ? 4_000 : 60_000,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`freshness: ${JSON.stringify(freshness)}\n`);
  }
  const cpu = cpus();
  const result = {
    machine:
      `${values.label ?? (quick ? 'quick run (proves the benchmark runs; figures not for comparison)' : short ? 'busy machine, short run (3 s cells, 6 s while swapping)' : 'full run')}; ` +
      `${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ` +
      `tfjs backend ${backend}, tables 26 × ${tableRows} rows, ${published} versions published; ` +
      `load average at start ${loadStart.map((x) => x.toFixed(1)).join(' ')}, at end ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; ` +
      `command: npm run bench:serve -- ${process.argv.slice(2).join(' ')}`.trim(),
    rows,
    inProcessRowsPerSecond,
    freshness,
  };
  // A quick run proves the benchmark works; it never replaces the recorded figures.
  const out = quick
    ? join(tmpdir(), 'agp-bench-serve-quick.json')
    : join(__dirname, 'results', 'serve.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  const at = (protocol: string, ipr: number, c: number) =>
    rows.find(
      (r) =>
        r.protocol === protocol &&
        !r.swapping &&
        r.instancesPerRequest === ipr &&
        r.concurrency === c,
    );
  const swapErrors = (protocol: string): number =>
    rows.filter((r) => r.swapping && r.protocol === protocol).reduce((s, r) => s + r.errors, 0);
  const best64 = Math.max(
    0,
    ...rows.filter((r) => r.instancesPerRequest === 64 && !r.swapping).map((r) => r.rowsPerSecond),
  );
  process.stdout.write(
    `goals: errors while swapping REST ${swapErrors('rest')}, gRPC ${swapErrors('grpc')} (goal 0 on both); ` +
      `p99 at 1 instance, c16 REST ${at('rest', 1, 16)?.p99Ms} ms, gRPC ${at('grpc', 1, 16)?.p99Ms} ms (goals: REST ≤ 20, gRPC ≤ REST); ` +
      (inProcessRowsPerSecond['64'] === undefined
        ? ''
        : `served/in-process rows/s at 64 instances ${(best64 / inProcessRowsPerSecond['64']).toFixed(2)} (goal ≥ 0.5); `) +
      `click → served median ${freshness.medianSeconds?.toFixed(2) ?? '—'} s, max ${freshness.maxSeconds?.toFixed(2) ?? '—'} s over ${freshness.samples} samples\nwrote ${out}\n`,
  );
  await rm(work, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
