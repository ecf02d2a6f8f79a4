/**
 * Read throughput of the file readers: writes N synthetic rows (capacity-bound preset) to
 * Parquet (parquetjs-lite's PLAIN, format 1.0 file, and the same rows rewritten by DuckDB with
 * its defaults: dictionary encoding, snappy), Arrow IPC and Criteo TSV under .cache/bench/, then
 * reads each back through a BatchSource (batch 128, as training does) in interleaved rounds, so
 * every reader sees the same machine load. Readers: parquetjs-lite (before issue 13, PLAIN files
 * only), hyparquet (the product's reader since), DuckDB's native scan (one thread; the
 * alternative considered). Prints rows per second, wall and CPU (the machine is shared, so
 * CPU-seconds are the steadier figure), the hyparquet / parquetjs-lite ratio, and writes
 * bench/results/parquet-read.json.
 *
 *   npm run bench:parquet -- [--rows 200000] [--rounds 3]
 */
import { createWriteStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
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
import {
  duckdbColumns,
  duckdbSource,
  hyparquetColumns,
  parquetjsLiteColumns,
  parquetjsLiteSource,
  rewriteWithDuckdb,
  type ColumnPiece,
} from './parquet-readers';
import { sourceColumns } from '../src/data/column-decode';

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

interface Reader {
  name: string;
  file: string;
  /** Reads the file once; returns the row count. */
  read(): Promise<number>;
  wall: number[];
  cpu: number[];
}

async function countRows(pieces: AsyncIterable<ColumnPiece>): Promise<number> {
  let n = 0;
  for await (const p of pieces) n += p.rows;
  return n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const rows = arg('rows', 200_000);
  const rounds = arg('rounds', 3);
  const loadStart = loadavg();
  mkdirSync(DIR, { recursive: true });
  const cfg = resolveSyntheticConfig({ preset: 'capacity-bound', rows, seed: 1 });
  const spec = syntheticFeatureSpec(cfg);
  console.log(
    `${rows} rows, ${spec.dense.length} dense + ${spec.sparse.length} categorical columns, ${rounds} interleaved rounds, load average ${loadStart[0]?.toFixed(1)} (busy machine: figures are indicative)`,
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
    duckdb: `${DIR}/synthetic-duckdb.parquet`,
    arrow: `${DIR}/synthetic.arrow`,
    'criteo-tsv': `${DIR}/synthetic.tsv`,
  };
  const [, tWp] = await timed(() => writeParquet(paths.parquet, pieces, spec));
  console.log(line('parquet write', rows, tWp));
  await rewriteWithDuckdb(paths.parquet, paths.duckdb);
  const [, tWa] = await timed(() => writeArrow(paths.arrow, pieces, spec));
  console.log(line('arrow write', rows, tWa));
  const [, tWt] = await timed(() => writeTsv(paths['criteo-tsv'], pieces));
  console.log(line('tsv write', rows, tWt));

  const source = (kind: 'parquet' | 'arrow' | 'criteo-tsv', path: string) => () =>
    drain(openSource({ kind, path } as DataSourceConfigInput, spec));
  const names = sourceColumns(spec);
  const columnsOnly = (
    name: string,
    file: string,
    gen: (path: string, names: string[]) => AsyncIterable<ColumnPiece>,
  ) => ({ name: `${name}, columns only`, file, read: () => countRows(gen(file, names)) });
  const list: Omit<Reader, 'wall' | 'cpu'>[] = [
    {
      name: 'parquetjs-lite (before)',
      file: paths.parquet,
      read: () => drain(parquetjsLiteSource(paths.parquet, spec)),
    },
    { name: 'hyparquet (after)', file: paths.parquet, read: source('parquet', paths.parquet) },
    {
      name: 'duckdb, 1 thread',
      file: paths.parquet,
      read: () => drain(duckdbSource(paths.parquet, spec)),
    },
    { name: 'hyparquet (after)', file: paths.duckdb, read: source('parquet', paths.duckdb) },
    {
      name: 'duckdb, 1 thread',
      file: paths.duckdb,
      read: () => drain(duckdbSource(paths.duckdb, spec)),
    },
    columnsOnly('parquetjs-lite', paths.parquet, parquetjsLiteColumns),
    columnsOnly('hyparquet', paths.parquet, hyparquetColumns),
    columnsOnly('duckdb', paths.parquet, duckdbColumns),
    columnsOnly('hyparquet', paths.duckdb, hyparquetColumns),
    columnsOnly('duckdb', paths.duckdb, duckdbColumns),
    { name: 'arrow', file: paths.arrow, read: source('arrow', paths.arrow) },
    {
      name: 'criteo-tsv',
      file: paths['criteo-tsv'],
      read: source('criteo-tsv', paths['criteo-tsv']),
    },
  ];
  const readers: Reader[] = list.map((r) => ({ ...r, wall: [], cpu: [] }));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no reader always runs first (cold cache) or last.
    const order = readers.map((_, i) => readers[(i + round) % readers.length] as Reader);
    for (const r of order) {
      const [n, t] = await timed(() => r.read());
      if (n !== rows) throw new Error(`${r.name} on ${r.file}: read ${n} rows, wrote ${rows}`);
      r.wall.push(t.wall);
      r.cpu.push(t.cpu);
    }
    console.log(`round ${round + 1}/${rounds} done`);
  }
  const label = (r: Reader) =>
    `${r.name} ${r.file.endsWith('duckdb.parquet') ? '[dict+snappy]' : ''}`;
  console.log('\nread (batch 128 through decode + hash, or columns only), median over rounds:');
  for (const r of readers) {
    const mb = statSync(r.file).size / 1e6;
    const t = { wall: median(r.wall), cpu: median(r.cpu) };
    console.log(
      line(
        label(r).padEnd(34).slice(0, 34),
        rows,
        t,
        `, ${r.file.split('/').pop()} ${mb.toFixed(1)} MB`,
      ),
    );
  }
  const ratio = (before: Reader, after: Reader) => ({
    rowsPerSecondWall: median(before.wall.map((w, i) => w / (after.wall[i] as number))),
    rowsPerCpuSecond: median(before.cpu.map((c, i) => c / (after.cpu[i] as number))),
  });
  const find = (name: string) => readers.find((r) => r.name === name && r.file === paths.parquet);
  const ratios = {
    throughSource: ratio(find('parquetjs-lite (before)')!, find('hyparquet (after)')!),
    columnsOnly: ratio(find('parquetjs-lite, columns only')!, find('hyparquet, columns only')!),
  };
  for (const [what, r] of Object.entries(ratios)) {
    console.log(
      `hyparquet / parquetjs-lite (${what}, same file, same rounds): ${r.rowsPerSecondWall.toFixed(2)}x rows/s wall, ${r.rowsPerCpuSecond.toFixed(2)}x rows/CPU-s (median of per-round ratios)`,
    );
  }
  const syn = openSource({ kind: 'synthetic', preset: 'capacity-bound', rows, seed: 2 });
  const [n, t] = await timed(() => drain(syn));
  console.log(line('synthetic source', n, t, ' (generate + hash + batch)'));

  const cpu = cpus();
  const out = {
    command: `npm run bench:parquet -- --rows ${rows} --rounds ${rounds}`,
    machine: `${cpu[0]?.model ?? 'cpu'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load average at start ${loadStart.map((x) => x.toFixed(1)).join(' ')}; at end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
    note: 'busy machine (shared with other engineers): indicative figures; rerun quietly for the record',
    rows,
    rounds,
    batchSize: 128,
    readers: readers.map((r) => ({
      reader: r.name,
      file: r.file,
      fileBytes: statSync(r.file).size,
      wallSeconds: r.wall,
      cpuSeconds: r.cpu,
      rowsPerSecondWall: Math.round(rows / median(r.wall)),
      rowsPerCpuSecond: Math.round(rows / median(r.cpu)),
    })),
    hyparquetOverParquetjsLite: ratios,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/parquet-read.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log('wrote bench/results/parquet-read.json');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
