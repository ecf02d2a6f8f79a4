import type { ClickEvent } from '../../schemas/click-event';
import type { FeatureSpec } from '../../schemas/feature-spec';
import type { RecurringOptimizer } from '../../schemas/recurring-optimizer';
import type { SyntheticOptionsInput } from '../../schemas/synthetic';
import { generateBlock, SYNTHETIC_BLOCK_ROWS } from '../../src/data/synthetic/generator';
import { resolveSyntheticConfig, syntheticFeatureSpec } from '../../src/data/synthetic/presets';
import { getTeacher } from '../../src/data/synthetic/teacher';
import { evaluateBinary } from '../../src/metrics/evaluate';
import type { Trainer } from '../../src/model/trainer';
import type { DeadLetterSink } from '../../src/stream/dead-letter';
import { createEventDecoder, encodeEvent, eventsToBatch } from '../../src/stream/event-codec';
import { createTrainingLoop } from '../../src/stream/training-loop';
import { recurringLrScale } from '../../src/train/recurring-lr';

/**
 * The lifecycle benchmark's recurring stage: synthetic rows after the offline range, encoded as
 * the click events Kafka would carry, fed in order to the product's recurring training loop
 * (src/stream/training-loop.ts: decode, validate, micro-batch, score, train under
 * `recurring.optimizer`) from an in-process source instead of a Kafka consumer.
 */

/** A synthetic train stream (its rows follow from the range a stage reads). */
export type StreamOptions = Omit<SyntheticOptionsInput, 'rows'>;

/** Progressive metrics of one segment of the stream. */
export interface StreamSegment {
  startRow: number;
  rows: number;
  progressiveNe: number;
  logloss: number;
  /** Bayes-optimal NE of the segment (the teacher's probabilities on the same labels). */
  bayesNe: number;
}

/** What a recurring stage did. */
export interface StreamResult {
  segments: StreamSegment[];
  /** Events trained (not dead-lettered by the step guard). */
  trained: number;
  deadLettered: number;
  /** Trainer steps taken in the stage. */
  steps: number;
}

/** Rows [startRow, startRow + rows) of a synthetic train stream as events, with true probabilities. */
function* streamRows(
  options: StreamOptions,
  startRow: number,
  rows: number,
): Generator<{ event: ClickEvent; prob: number }> {
  const cfg = resolveSyntheticConfig({ ...options, rows: startRow + rows });
  const spec = syntheticFeatureSpec(cfg);
  const teacher = getTeacher(cfg);
  const t0 = Date.now() - rows;
  let i = 0;
  const blocks = Math.ceil(cfg.rows / SYNTHETIC_BLOCK_ROWS);
  for (let b = Math.floor(startRow / SYNTHETIC_BLOCK_ROWS); b < blocks; b++) {
    const { raw, probs } = generateBlock(teacher, cfg, b);
    for (let r = 0; r < raw.size; r++) {
      if (b * SYNTHETIC_BLOCK_ROWS + r < startRow) continue;
      const dense: Record<string, number | null> = {};
      spec.dense.forEach((f, k) => {
        const v = raw.dense[k]?.[r] ?? Number.NaN;
        dense[f.name] = Number.isNaN(v) ? null : v;
      });
      const sparse: Record<string, string | number | null> = {};
      spec.sparse.forEach((f, k) => (sparse[f.name] = raw.sparse[k]?.[r] ?? null));
      const event: ClickEvent = {
        v: 1,
        eventId: `r${startRow + i}`,
        eventTime: t0 + i,
        label: raw.labels[r] === 1 ? 1 : 0,
        dense,
        sparse,
      };
      i++;
      yield { event, prob: probs[r] as number };
    }
  }
}

function countingSink(): DeadLetterSink {
  let count = 0;
  return {
    add: () => void count++,
    flush: () => Promise.resolve(),
    get count() {
      return count;
    },
    byReason: {},
  };
}

/** A stream's events, encoded once and replayed for every model (methods share a seed's rows). */
interface EncodedStream {
  values: Buffer[];
  probs: Float32Array;
  labels: Float32Array;
}

const encoded = new Map<string, EncodedStream>();

/** Events handed to the loop at once, as a Kafka fetch of one partition would (~1 MB). */
const FETCH_EVENTS = 2_000;

function encodedStream(data: StreamOptions, startRow: number, rows: number): EncodedStream {
  const key = JSON.stringify({ data, startRow, rows });
  let e = encoded.get(key);
  if (e === undefined) {
    e = { values: [], probs: new Float32Array(rows), labels: new Float32Array(rows) };
    let i = 0;
    for (const { event, prob } of streamRows(data, startRow, rows)) {
      e.values.push(encodeEvent(event));
      e.probs[i] = prob;
      e.labels[i] = event.label;
      i++;
    }
    // Two streams at a time: the validation phase alternates a drifting and a stationary one.
    if (encoded.size >= 2) encoded.delete(encoded.keys().next().value as string);
    encoded.set(key, e);
  }
  return e;
}

/**
 * Trains `trainer` on `rows` rows of the synthetic stream `data` from `startRow` through the
 * recurring training loop under `optimizer` (steps counted from the trainer's step count now:
 * this is the hand-over), and returns the progressive NE of every `segmentRows`-row segment.
 */
export async function runRecurringStage(
  trainer: Trainer,
  spec: FeatureSpec,
  data: StreamOptions,
  range: { startRow: number; rows: number; segmentRows: number },
  optimizer: RecurringOptimizer,
): Promise<StreamResult> {
  const handoverStep = trainer.stepCount;
  const lrAt = recurringLrScale(optimizer, { configuredLr: trainer.config.denseOptimizer.lr });
  const stream = encodedStream(data, range.startRow, range.rows);
  const probs = stream.probs;
  const truth = stream.labels;
  // Scored rows in stream order; the loop scores each batch before training on it.
  const preds = new Float32Array(range.rows);
  const labels = new Float32Array(range.rows);
  let scored = 0;
  const deadLetters = countingSink();
  const loop = createTrainingLoop({
    trainer,
    spec,
    metrics: {
      add(p, l) {
        preds.set(p, scored);
        labels.set(l, scored);
        scored += p.length;
      },
      snapshot: () => ({}),
    },
    deadLetters,
    publishVersion: () => Promise.resolve(),
    startOffsets: { lifecycle: { '0': 0 } },
    batchSize: trainer.config.batchSize,
    publishEveryEvents: Number.MAX_SAFE_INTEGER,
    recordTrainedIds: false,
    lrScale: () => lrAt(trainer.stepCount - handoverStep),
  });
  try {
    for (let from = 0; from < stream.values.length; from += FETCH_EVENTS) {
      const messages = stream.values.slice(from, from + FETCH_EVENTS).map((value, i) => ({
        topic: 'lifecycle',
        partition: 0,
        offset: from + i,
        key: null,
        value,
      }));
      const ahead = loop.decodeAhead(messages);
      for (let i = 0; i < messages.length; i++) await ahead.handle(i);
    }
    await loop.publish();
  } finally {
    await loop.close();
  }
  if (deadLetters.count > 0 && scored !== range.rows - deadLetters.count) {
    throw new Error(
      `scored ${scored} of ${range.rows} rows with ${deadLetters.count} dead-lettered`,
    );
  }
  return {
    // By scored position (dead-lettered batches, if any, shift later rows slightly).
    segments: segmentsOf(range, scored, { preds, labels }, { probs, labels: truth }),
    trained: scored,
    deadLettered: deadLetters.count,
    steps: trainer.stepCount - handoverStep,
  };
}

/**
 * The frozen reference: the same rows of the stream scored by `trainer` without any update (the
 * events decoded and encoded as the loop does), per segment. Against the trained stage on the
 * same rows it shows what the recurring stage learned of the drifting stream.
 */
export async function scoreFrozenStage(
  trainer: Trainer,
  spec: FeatureSpec,
  data: StreamOptions,
  range: { startRow: number; rows: number; segmentRows: number },
): Promise<StreamSegment[]> {
  const stream = encodedStream(data, range.startRow, range.rows);
  const decode = createEventDecoder(spec);
  const preds = new Float32Array(range.rows);
  for (let from = 0; from < range.rows; from += FETCH_EVENTS) {
    const events = stream.values.slice(from, from + FETCH_EVENTS).map((value) => {
      const decoded = decode(value);
      if ('error' in decoded) throw new Error(`frozen reference: row ${from}: ${decoded.error}`);
      return decoded.ok;
    });
    preds.set(await trainer.predict(eventsToBatch(events, spec)), from);
  }
  const labels = stream.labels;
  return segmentsOf(range, range.rows, { preds, labels }, { probs: stream.probs, labels });
}

/** Per `segmentRows` of the first `rows` scored: the model's NE and the teacher's (Bayes). */
function segmentsOf(
  range: { startRow: number; segmentRows: number },
  rows: number,
  model: { preds: Float32Array; labels: Float32Array },
  teacher: { probs: Float32Array; labels: Float32Array },
): StreamSegment[] {
  const segments: StreamSegment[] = [];
  for (let from = 0; from < rows; from += range.segmentRows) {
    const to = Math.min(rows, from + range.segmentRows);
    const m = evaluateBinary(model.preds.subarray(from, to), model.labels.subarray(from, to));
    const bayes = evaluateBinary(
      teacher.probs.subarray(from, to),
      teacher.labels.subarray(from, to),
    );
    segments.push({
      startRow: range.startRow + from,
      rows: to - from,
      progressiveNe: m.ne,
      logloss: m.logloss,
      bayesNe: bayes.ne,
    });
  }
  return segments;
}
