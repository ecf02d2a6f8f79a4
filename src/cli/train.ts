import { parseArgs } from 'node:util';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { SkippedRows, TrainReport } from '../../schemas/train-report';
import { ConfigError } from '../errors';
import { readTrainConfigFile } from '../train/config-file';
import { dryRun } from '../train/dry-run';
import { runOfflineTraining, type OfflineProgress } from '../train/offline';

const help = `usage: agp train --config <file.json> [options]

Trains a DLRM offline with Alternate model Growth and Pruning and writes report.json,
report.html and a checkpoint into the run directory.

Relative paths in the config file (data paths, data dirs, outDir) are resolved against the
config file's directory, not the working directory.

options (each overrides the config file):
  --config <file>      training config (JSON, see schemas/train-config.ts)
  --dry-run            validate the config and read the first rows of each data source through
                       the real readers; print the feature spec, rows read and skipped rows
                       (with reasons); exit 0 if all is well, 1 otherwise; no training
  --rows <n>           rows per source read by --dry-run (default 1000)
  --schedule <s>       agp | dense | prune-only | small-dense
  --growth <g>         split | zero-out | restore | random
  --importance <i>     l2-inout | l2-in | taylor
  --ratio <r>          fraction of hidden neurons removed while pruned
  --seed <n>           seed of weights and data
  --epochs <n>         passes over the training rows
  --out <dir>          run directory (default .data/runs/<name>-<time>; relative to the
                       working directory)
  --resume <dir>       continue from a checkpoint directory of the same config
  --backend <b>        tensorflow | wasm | cpu (default: the fastest that loads; env AGP_BACKEND)
  --json               print the final report (or the dry run's findings) as JSON on stdout
`;

/** Lines saying what a source skipped: the count and the first reasons. */
function skippedLines(name: string, s: SkippedRows): string[] {
  if (s.skipped === 0) return [];
  const more = s.skipped > s.first.length ? ` (first ${s.first.length} shown)` : '';
  return [
    `${name}: skipped ${s.skipped} invalid row${s.skipped === 1 ? '' : 's'}${more}:`,
    ...s.first.map((r) => `  ${r.where}: ${r.problem}`),
  ];
}

function describeSpec(spec: FeatureSpec): string[] {
  const dense = spec.dense.map((f) => f.name).join(', ');
  const sparse = spec.sparse.map((f) => `${f.name} (${f.buckets})`).join(', ');
  return [
    `label: ${spec.label}`,
    `dense (${spec.dense.length}): ${dense || '—'}`,
    `categorical (${spec.sparse.length}, buckets): ${sparse || '—'}`,
  ];
}

function bar(p: OfflineProgress): string {
  const width = 24;
  const done = Math.round((p.step / p.totalSteps) * width);
  const widths = Object.values(p.widths).join('/');
  return (
    `[${'#'.repeat(done)}${'.'.repeat(width - done)}] step ${p.step}/${p.totalSteps} ` +
    `${p.phase.padEnd(6)} widths ${widths} ${Math.round(p.samplesPerSecond)} samples/s loss ${p.loss.toFixed(4)}`
  );
}

/** `agp train`: parses flags over the config file and runs the offline trainer with a progress bar. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      schedule: { type: 'string' },
      growth: { type: 'string' },
      importance: { type: 'string' },
      ratio: { type: 'string' },
      seed: { type: 'string' },
      epochs: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      rows: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (values.config === undefined) throw new ConfigError(`--config <file> is required\n\n${help}`);
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ConfigError(`--${flag} must be a number, got '${v}'`);
    return n;
  };
  const configPath = values.config;
  const config = await readTrainConfigFile(configPath, (raw) => {
    const agp = { ...((raw.agp as Record<string, unknown> | undefined) ?? {}) };
    if (values.schedule !== undefined) agp.schedule = values.schedule;
    if (values.growth !== undefined) agp.growth = values.growth;
    if (values.importance !== undefined) agp.importance = values.importance;
    if (values.ratio !== undefined) agp.ratio = num('ratio', values.ratio);
    const merged: Record<string, unknown> = { ...raw, agp };
    if (values.seed !== undefined) merged.seed = num('seed', values.seed);
    if (values.epochs !== undefined) merged.epochs = num('epochs', values.epochs);
    return merged;
  });
  // --out is typed on the command line: relative to the working directory, not the config.
  if (values.out !== undefined) config.outDir = values.out;
  if (values['dry-run']) {
    const rows = num('rows', values.rows) ?? 1000;
    if (!Number.isInteger(rows) || rows < 1) {
      throw new ConfigError(`--rows must be a positive integer, got '${values.rows}'`);
    }
    const found = await dryRun(config, { rows, configPath });
    if (values.json) {
      process.stdout.write(JSON.stringify(found, null, 2) + '\n');
    } else {
      process.stdout.write(
        [
          `config ${configPath}: valid`,
          ...describeSpec(found.spec),
          `model: bottom ${JSON.stringify(found.model.bottom)} top ${JSON.stringify(found.model.top)} ` +
            `dim ${found.model.embeddingDim}, ${found.model.denseOptimizer.kind} lr ${found.model.denseOptimizer.lr} / ` +
            `${found.model.embeddingOptimizer.kind} lr ${found.model.embeddingOptimizer.lr}, batch ${found.model.batchSize}`,
          ...found.sources.flatMap((s) => [
            `${s.name}: ${s.describe}: read ${s.rowsRead} rows (of the first ${rows}), skipped ${s.skipped}`,
            ...skippedLines(s.name, s).slice(1),
          ]),
          'dry run: no training',
          '',
        ].join('\n'),
      );
    }
    return 0;
  }
  const backend = values.backend as 'tensorflow' | 'wasm' | 'cpu' | undefined;
  if (backend !== undefined && !['tensorflow', 'wasm', 'cpu'].includes(backend)) {
    throw new ConfigError(`--backend must be tensorflow, wasm or cpu, got '${backend}'`);
  }

  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const result = await runOfflineTraining(config, {
    configPath,
    ...(values.resume === undefined ? {} : { resumeFrom: values.resume }),
    ...(backend === undefined ? {} : { backend }),
    progressEvery: 10,
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r${bar(p)}`);
      else if (Date.now() - lastLine > 5000 || p.step === p.totalSteps) {
        lastLine = Date.now();
        process.stderr.write(`${bar(p)}\n`);
      }
    },
  });
  if (tty) process.stderr.write('\n');
  const r = result.report;
  result.trainer.dispose();
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else {
    const bayes = r.bayes
      ? ` (Bayes-optimal log loss ${r.bayes.logloss.toFixed(4)}, AUC ${r.bayes.auc.toFixed(4)})`
      : '';
    process.stdout.write(
      [
        `schedule ${r.schedule} (growth ${r.growth}) on ${r.dataset}, backend ${r.backend}`,
        `${r.steps} steps in ${r.wallSeconds.toFixed(1)} s, ${Math.round(r.samplesPerSecond)} samples/s`,
        `training FLOPs ${r.trainFlops.toExponential(3)} = ${(1 - r.flopSaving).toFixed(3)} × dense`,
        `test log loss ${r.test.logloss.toFixed(4)} NE ${r.test.ne.toFixed(4)} AUC ${r.test.auc.toFixed(4)} calibration ${r.test.calibration.toFixed(3)}${bayes}`,
        ...neLines(r.test),
        ...validationLines(r.validation),
        `final widths ${JSON.stringify(r.finalWidths)}`,
        ...skippedLines('train data', r.invalidRows?.train ?? { skipped: 0, first: [] }),
        ...skippedLines('test data', r.invalidRows?.test ?? { skipped: 0, first: [] }),
        `report: ${result.outDir}/report.html  checkpoint: ${result.checkpointDir}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

/** Which base rate the NE above is normalized by, and the test-rate variant beside it. */
function neLines(test: TrainReport['test']): string[] {
  if (test.trainBaseRate === undefined) return [];
  const testRate =
    test.neTestRate === undefined ? '' : `; test-rate NE ${test.neTestRate.toFixed(4)}`;
  const rate =
    test.testBaseRate === undefined ? '' : ` (test base rate ${test.testBaseRate.toFixed(4)})`;
  return [
    `NE is log loss / entropy of the training base rate ${test.trainBaseRate.toFixed(4)}${rate}${testRate}`,
  ];
}

/** The early-stopping record: the epoch kept and each epoch's validation NE. */
function validationLines(v: TrainReport['validation']): string[] {
  if (v === undefined) return [];
  const nes = v.epochs.map((e) => `${e.epoch}: ${e.ne === null ? 'pruned' : e.ne.toFixed(4)}`);
  const kept = v.bestEpoch === null ? 'no full-width epoch to keep' : `kept epoch ${v.bestEpoch}`;
  return [
    `validation NE by epoch ${nes.join(', ')}; ${kept}${v.stoppedEarly ? ', stopped early' : ''}`,
  ];
}
