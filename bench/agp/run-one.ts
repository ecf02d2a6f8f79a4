import { parseTrainConfig, type TrainConfigInput } from '../../schemas/train-config';
import { continueTraining } from '../../src/train/continue-training';
import { evaluateOn } from '../../src/train/evaluate';
import { runOfflineTraining } from '../../src/train/offline';
import { openTrainingData } from '../../src/train/open-data';
import type { BenchJob, BenchRun, Quality } from './types';

function quality(m: Quality): Quality {
  return { logloss: m.logloss, ne: m.ne, auc: m.auc, calibration: m.calibration };
}

/**
 * Trains one job through the product's offline trainer, then (when the job asks) continues the
 * final model on the next `continueRows` rows of the same training stream the way the recurring
 * phase does: at the run's configured lr, each batch scored before it is trained on.
 */
export async function runJob(job: BenchJob): Promise<BenchRun> {
  const t0 = performance.now();
  const input = job.config;
  const config = parseTrainConfig(input, 'benchmark config');
  const { report, trainer } = await runOfflineTraining(config);
  const full = report.fullWidths;
  const pruned = Object.keys(full).find((k) => report.finalWidths[k] !== full[k]);
  const run: BenchRun = {
    kind: job.kind,
    schedule: job.schedule,
    dataset: job.dataset,
    seed: job.seed,
    headline: job.kind === 'headline',
    lr: job.lr,
    trainFlops: report.trainFlops,
    denseEquivalentFlops: report.denseEquivalentFlops,
    wallSeconds: report.wallSeconds,
    test: quality(report.test),
    growth: report.growth,
    backend: report.backend,
    finalWidths: report.finalWidths,
    processSeconds: 0,
  };
  if (job.ratio !== undefined) run.ratio = job.ratio;
  if (job.schedule === 'small-dense' && pruned !== undefined) {
    run.widthMultiplier =
      job.widthMultiplier ??
      Math.round((1000 * (report.finalWidths[pruned] ?? 0)) / (full[pruned] ?? 1)) / 1000;
  }
  try {
    if (job.continueRows > 0) {
      const offline = (input.data?.train as { rows: number }).rows;
      const train = { ...(input.data?.train as object), rows: offline + job.continueRows };
      const more = openTrainingData(
        parseTrainConfig({ ...input, data: { ...input.data, train } as TrainConfigInput['data'] }),
      );
      const progressive = await continueTraining(trainer, more.train, {
        batchSize: trainer.config.batchSize,
        startRow: offline,
      });
      const test = await evaluateOn(trainer, more.test);
      run.continued = { progressiveNe: progressive.ne, testNe: test.ne, rows: progressive.count };
    }
  } finally {
    trainer.dispose();
  }
  run.processSeconds = (performance.now() - t0) / 1000;
  return run;
}
