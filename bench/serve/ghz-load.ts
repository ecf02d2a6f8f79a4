/**
 * The gRPC load of `npm run bench:serve` with ghz (infra/ghz.ts), TF Serving users' usual gRPC
 * load tool: a Go client, so the load generator takes far less of the 2 cores the service runs
 * on than grpc-js does (about 0.7 ms of CPU per call, measured; the service itself spends
 * 0.2–0.3 ms). Same contract as {@link grpcLoad}: `concurrency` calls in flight on one
 * connection for `seconds`, the same pre-encoded requests in turn, p50/p99 of the OK calls.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand } from '../../infra/process';
import { protosDir } from '../../src/serve/grpc/load-protos';
import type { GrpcCellResult, GrpcLoadOptions } from './grpc-load';

/** Protobuf's varint, as the length prefix of a delimited message. */
function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** ghz's JSON report, the fields read here. */
interface GhzReport {
  count: number;
  total: number;
  rps: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution: Record<string, number> | null;
}

/** Runs one cell with ghz at `ghz` (its path, from installGhz). */
export async function ghzLoad(options: GrpcLoadOptions & { ghz: string }): Promise<GrpcCellResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'agp-ghz-'));
  try {
    const data = path.join(dir, 'requests.bin');
    // Several messages: count-prefixed (length-delimited), sent round robin.
    await writeFile(data, Buffer.concat(options.requests.flatMap((r) => [varint(r.length), r])));
    const reportFile = path.join(dir, 'report.json');
    await runCommand(
      options.ghz,
      [
        '--insecure',
        '--import-paths',
        protosDir(),
        '--proto',
        'tensorflow_serving/apis/prediction_service.proto',
        '--call',
        'tensorflow.serving.PredictionService.Predict',
        '--binary-file',
        data,
        '--concurrency',
        String(options.concurrency),
        '--connections',
        String(options.channels ?? 1),
        '--duration',
        `${options.seconds}s`,
        '--timeout',
        `${options.timeoutSeconds}s`,
        '--format',
        'json',
        // To a file: the JSON lists every call (several MB at thousands of calls per second).
        '--output',
        reportFile,
        options.address,
      ],
      { timeoutMs: (options.seconds + options.timeoutSeconds + 30) * 1000 },
    );
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as GhzReport;
    const at = (p: number): number => {
      const ns = report.latencyDistribution?.find((d) => d.percentage === p)?.latency;
      return ns === undefined ? Number.NaN : Math.round(ns / 1e4) / 100;
    };
    const codes = report.statusCodeDistribution ?? {};
    const ok = codes['OK'] ?? 0;
    // When the duration ends ghz closes its connection under the calls still in flight: exactly
    // `concurrency` of them end Unavailable (or Canceled) in every cell, swapping or not (seen
    // in every quick run). They are not the service's errors; any beyond them are.
    const cancelledAtEnd = Math.min(
      (codes['Unavailable'] ?? 0) + (codes['Canceled'] ?? 0),
      options.concurrency,
    );
    return {
      requestsPerSecond: ok / (report.total / 1e9),
      p50Ms: at(50),
      p99Ms: at(99),
      errors: report.count - ok - cancelledAtEnd,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
