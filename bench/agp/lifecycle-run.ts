import { existsSync } from 'node:fs';
import type { RecurringOptimizer } from '../../schemas/recurring-optimizer';
import type { SyntheticOptionsInput } from '../../schemas/synthetic';
import { parseTrainConfig, type TrainConfigInput } from '../../schemas/train-config';
import { flopArchOf, stepFlops } from '../../src/agp/flops';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { evaluateOn } from '../../src/train/evaluate';
import { runOfflineTraining } from '../../src/train/offline';
import { openTrainingData } from '../../src/train/open-data';
import {
  runRecurringStage,
  scoreFrozenStage,
  type StreamOptions,
  type StreamResult,
  type StreamSegment,
} from './lifecycle-stream';

/** What the lifecycle keeps of an offline run (its model stays on disk as a checkpoint). */
export interface OfflineOutcome {
  checkpointDir: string;
  testNe: number;
  trainFlops: number;
  denseEquivalentFlops: number;
  /** Training multiply-adds per row at the final widths: the recurring stage's cost. */
  recurringFlopsPerRow: number;
  finalWidths: Record<string, number>;
}

/** Trains one method offline through the product's trainer (the headline's config). */
export async function runOffline(config: TrainConfigInput): Promise<OfflineOutcome> {
  const parsed = parseTrainConfig(config, 'lifecycle benchmark config');
  const { report, trainer, checkpointDir } = await runOfflineTraining(parsed);
  try {
    const perRow = stepFlops(flopArchOf(trainer.config), report.finalWidths, 1).total;
    if (!existsSync(checkpointDir)) throw new Error(`no final checkpoint in ${checkpointDir}`);
    return {
      checkpointDir,
      testNe: report.test.ne,
      trainFlops: report.trainFlops,
      denseEquivalentFlops: report.denseEquivalentFlops,
      recurringFlopsPerRow: perRow,
      finalWidths: report.finalWidths,
    };
  } finally {
    trainer.dispose();
  }
}

/** A recurring stage from an offline checkpoint, optionally scored on a test split afterwards. */
export async function continueFromCheckpoint(
  checkpointDir: string,
  config: TrainConfigInput,
  stream: StreamOptions,
  range: { startRow: number; rows: number; segmentRows: number },
  optimizer: RecurringOptimizer,
  test?: SyntheticOptionsInput,
): Promise<StreamResult & { testNe?: number }> {
  const { trainer } = await loadCheckpoint(checkpointDir);
  try {
    const data = openTrainingData(parseTrainConfig(config));
    const result = await runRecurringStage(trainer, data.spec, stream, range, optimizer);
    if (test === undefined) return result;
    const testData = openTrainingData(
      parseTrainConfig({
        ...config,
        data: { ...config.data, test: { kind: 'synthetic', ...test } },
      } as TrainConfigInput),
    );
    const m = await evaluateOn(trainer, testData.test);
    return { ...result, testNe: m.ne };
  } finally {
    trainer.dispose();
  }
}

/** The frozen reference of an offline checkpoint on a stream (scored, never trained). */
export async function frozenFromCheckpoint(
  checkpointDir: string,
  config: TrainConfigInput,
  stream: StreamOptions,
  range: { startRow: number; rows: number; segmentRows: number },
): Promise<StreamSegment[]> {
  const { trainer } = await loadCheckpoint(checkpointDir);
  try {
    const data = openTrainingData(parseTrainConfig(config));
    return await scoreFrozenStage(trainer, data.spec, stream, range);
  } finally {
    trainer.dispose();
  }
}

/** Test NE of an offline checkpoint on another synthetic test split (the validation one). */
export async function evaluateCheckpoint(
  checkpointDir: string,
  config: TrainConfigInput,
  test: SyntheticOptionsInput,
): Promise<number> {
  const { trainer } = await loadCheckpoint(checkpointDir);
  try {
    const data = openTrainingData(
      parseTrainConfig({
        ...config,
        data: { ...config.data, test: { kind: 'synthetic', ...test } },
      } as TrainConfigInput),
    );
    return (await evaluateOn(trainer, data.test)).ne;
  } finally {
    trainer.dispose();
  }
}
