/**
 * Read throughput of the file readers: writes N synthetic rows (capacity-bound preset) to
 * Parquet, Arrow IPC and Criteo TSV under .cache/bench/, reads each back through its
 * BatchSource (batch 128, as training does) and prints rows per second, wall and CPU (the
 * machine is shared, so CPU-seconds are the steadier figure).
 *
 *   npm run bench:parquet -- [--rows 200000]
 */
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { finished } from 'node:stream/promises';
import type { DataSourceConfigInput } from '../schemas/data-source';
import { writeArrow } from '../src/data/arrow';
import { openSource } from '../src/data/open-source';
import { writeParquet } from '../src/data/parquet';
import type { RawBatch } from '../src/data/raw-batch';
import type { BatchSource } from '../src/data/source';
import { resolveSyntheticConfig, syntheticFeatureSpec } from '../src/data/synthetic/presets';
import { getTeacher } from '../src/data/synthetic/teacher';
import { generateBlock, SYNTHETIC_BLOCK_ROWS } from '../src/data/synthetic/generator';

const DIR = '.cache/bench';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Timing {
  wall: number;
  cpu: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, Timing]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await fn();
  const c = process.cpuUsage(c0);
  return [out, { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 }];
}

async function writeTsv(path: string, pieces: RawBatch[]): Promise<void> {
  const out = createWriteStream(path);
  for (const raw of pieces) {
    let s = '';
    for (let r = 0; r < raw.size; r++) {
      const dense = raw.dense.map((c) => (Number.isNaN(c[r] as number) ? '' : String(c[r])));
      const sparse = raw.sparse.map((c) => String(c[r] ?? ''));
      s += `${raw.labels[r]}\t${dense.join('\t')}\t${sparse.join('\t')}\n`;
    }
    if (!out.write(s)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
}

async function drain(src: BatchSource): Promise<number> {
  let rows = 0;
  for await (const b of src.batches({ batchSize: 128 })) rows += b.size;
  return rows;
}

function line(what: string, rows: number, t: Timing, extra = ''): string {
  const perWall = Math.round(rows / t.wall);
  const perCpu = Math.round(rows / t.cpu);
  return `${what.padEnd(22)} ${String(perWall).padStart(9)} rows/s wall  ${String(perCpu).padStart(9)} rows/CPU-s  (${t.wall.toFixed(1)} s)${extra}`;
}

async function main(): Promise<void> {
  const rows = arg('rows', 200_000);
  mkdirSync(DIR, { recursive: true });
  const cfg = resolveSyntheticConfig({ preset: 'capacity-bound', rows, seed: 1 });
  const spec = syntheticFeatureSpec(cfg);
  console.log(
    `${rows} rows, ${spec.dense.length} dense + ${spec.sparse.length} categorical columns, load average ${loadavg()[0]?.toFixed(1)}`,
  );

  const [teacher, tTeacher] = await timed(async () => getTeacher(cfg));
  console.log(
    `${'teacher build'.padEnd(22)} ${tTeacher.wall.toFixed(1)} s wall, ${tTeacher.cpu.toFixed(1)} CPU-s`,
  );
  const [pieces, tGen] = await timed(async () => {
    const out: RawBatch[] = [];
    for (let b = 0; b * SYNTHETIC_BLOCK_ROWS < rows; b++)
      out.push(generateBlock(teacher, cfg, b).raw);
    return out;
  });
  console.log(line('synthetic generate', rows, tGen));

  const paths = {
    parquet: `${DIR}/synthetic.parquet`,
    arrow: `${DIR}/synthetic.arrow`,
    'criteo-tsv': `${DIR}/synthetic.tsv`,
  };
  const [, tWp] = await timed(() => writeParquet(paths.parquet, pieces, spec));
  console.log(line('parquet write', rows, tWp));
  const [, tWa] = await timed(() => writeArrow(paths.arrow, pieces, spec));
  console.log(line('arrow write', rows, tWa));
  const [, tWt] = await timed(() => writeTsv(paths['criteo-tsv'], pieces));
  console.log(line('tsv write', rows, tWt));

  for (const kind of ['parquet', 'arrow', 'criteo-tsv'] as const) {
    const src = openSource({ kind, path: paths[kind] } as DataSourceConfigInput, spec);
    const [n, t] = await timed(() => drain(src));
    if (n !== rows) throw new Error(`${kind}: read ${n} rows, wrote ${rows}`);
    const mb = statSync(paths[kind]).size / 1e6;
    console.log(line(`${kind} read`, n, t, `, ${mb.toFixed(1)} MB`));
  }
  const syn = openSource({ kind: 'synthetic', preset: 'capacity-bound', rows, seed: 2 });
  const [n, t] = await timed(() => drain(syn));
  console.log(line('synthetic source', n, t, ' (generate + hash + batch)'));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
