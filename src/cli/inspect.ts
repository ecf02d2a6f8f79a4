import { sampleArrow } from '../data/arrow';
import { sampleParquet } from '../data/parquet';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors';
import { sampleCsv, type Samplers } from '../data/file-sample';
import { inspectFile, type InspectReport } from '../data/inspect';

const USAGE = `usage: agp inspect <file> [--label <column>] [--positive <value>]... [--time <column>] [--rows <n>] [--json]

Shows a data file's columns (type in the file, inferred kind, null rate, distinct values in
the sample), its row count, the label rate, and per column the role the suggested feature spec
gives it, with the reason: label, event time, categorical, dense, or dropped. The suggestion
leaves out what would make a wrong model: a column unique per row (an id), a column whose
nullness or value gives the label away (a likely leak, e.g. a conversion time that is null
unless the label is 1), and every timestamp but the event time; integer columns with many
values are hashed as categorical ids, never read as numbers. With an event time the suggested
"data" splits the file by it (data.split: the newest 10% of the rows test, the 10% before them
validation), and a label rate that shifts over time is a warning. CSV/TSV (gzip-compressed or not),
Parquet and Arrow IPC files are recognised by their first bytes, else by their extension.

options:
  --label <column>    the label column (default: label, click, target, … or the first 0/1 column)
  --positive <value>  a label value that means a click, for a label that is not 0/1 (repeatable)
  --time <column>     the event-time column: the only one that gets hour/weekday features
                      (default: the timestamp column with the fewest nulls)
  --rows <n>          rows to sample (default 10000)
  --json              print the report as JSON only
`;

/** The samplers by format. */
export const samplers: Samplers = { csv: sampleCsv, parquet: sampleParquet, arrow: sampleArrow };

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** The report as text: a column table, the counts, then the suggestion as JSON. */
export function formatReport(r: InspectReport): string {
  const head = ['column', 'file type', 'kind', 'null', 'distinct', 'role', 'why'];
  const rows = r.columns.map((c) => [
    c.name,
    c.fileType,
    c.kind,
    pct(c.nullRate),
    String(c.distinct),
    c.leak ? `${c.role} (LEAK?)` : c.role,
    c.reason,
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] as string).length)),
  );
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  const out = [
    `${r.path}: ${r.format}, ${r.rows === null ? 'row count unknown' : `${r.rows} rows`}, ${r.columns.length} columns (${r.sampledRows} rows sampled)`,
    r.label === null
      ? 'label: none found (pass --label <column>)'
      : `label: ${r.label.name}, ${pct(r.label.rate)} positive in the sample${r.label.positive === undefined ? '' : ` (1 = ${r.label.positive.join(' or ')})`}`,
    `event time: ${r.eventTime ?? 'none (no timestamp column)'}`,
    '',
    line(head),
    ...rows.map(line),
    '',
    ...r.warnings.map((w) => `warning: ${w}`),
    ...(r.warnings.length > 0 ? [''] : []),
  ];
  if (r.features !== null && r.timeSplit !== null) {
    out.push(
      `suggested "data" for a training config (${r.timeSplitNote}):`,
      JSON.stringify({ train: r.source, split: r.timeSplit, features: r.features }, null, 2),
    );
  } else if (r.features !== null) {
    out.push(
      r.split === null
        ? `suggested "data" for a training config (${r.eventTime === null ? r.timeSplitNote : r.splitNote}; add "test", and "validation" for early stopping):`
        : `suggested "data" for a training config (${r.splitNote}):`,
      JSON.stringify(
        r.split === null
          ? { train: r.source, features: r.features }
          : {
              train: { ...r.source, ...r.split.train },
              validation: { ...r.source, ...r.split.validation },
              test: { ...r.source, ...r.split.test },
              features: r.features,
            },
        null,
        2,
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

/** `agp inspect FILE`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      label: { type: 'string' },
      positive: { type: 'string', multiple: true },
      time: { type: 'string' },
      rows: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [path, ...extra] = positionals;
  if (path === undefined || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const maxRows = values.rows === undefined ? 10_000 : Number(values.rows);
  if (!Number.isInteger(maxRows) || maxRows < 1) {
    throw new ConfigError(`--rows: expected a positive integer, got '${values.rows}'`);
  }
  const report = await inspectFile(path, samplers, {
    maxRows,
    ...(values.label === undefined ? {} : { label: values.label }),
    ...(values.positive === undefined ? {} : { positive: values.positive }),
    ...(values.time === undefined ? {} : { time: values.time }),
  });
  if (values.label !== undefined && report.label === null) {
    throw new ConfigError(
      `--label: ${path} has no column '${values.label}' (columns: ${report.columns.map((c) => c.name).join(', ')})`,
    );
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}
