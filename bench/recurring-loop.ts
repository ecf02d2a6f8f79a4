/**
 * Where the recurring trainer's time goes when it is throughput-bound, without Kafka: the same
 * events fed (1) to the recurring loop (`createTrainingLoop`: decode + validate each JSON
 * message, micro-batch, encode, score, train, account offsets), (2) to the same loop with its
 * decode thread (`decodeThread`: decoding, validation and encoding on a worker thread, fed
 * fetches of `--fetch` messages as the Kafka consumer's eachBatch feeds it) and (3) as ready
 * batches to `trainer.step`, the offline trainer's inner loop, on the main command's model and
 * batch size. Prints the rates, their ratios, the cores each kept busy, and a per-phase
 * breakdown of the
 * loop (the step timed inside the run through an instrumented seam; decoding and batch
 * encoding timed alone over the same events). The offline side here is an upper bound on the
 * offline trainer (batches are encoded before the clock starts). Kafka's own share (fetching, record-batch decoding
 * on the JS thread) is measured end to end by `npm run bench:fleet`'s recurringVsOffline.
 *
 *   npm run bench:recurring-loop -- [--events 20000] [--batch 256] [--repeats 3] [--fetch 2000]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { modelConfigForFeatures } from '../schemas/model-config';
import type { ColumnarBatch } from '../src/data/batch';
import { initBackend } from '../src/model/backend';
import { createTrainer, type Trainer } from '../src/model/trainer';
import { syntheticEventRows } from '../src/pipeline/synthetic-events';
import type { DeadLetterSink } from '../src/stream/dead-letter';
import { encodeEvent, eventsToBatch, createEventDecoder } from '../src/stream/event-codec';
import { createProgressiveMetrics } from '../src/stream/progressive-metrics';
import { createTrainingLoop, type IncomingMessage } from '../src/stream/training-loop';
import type { ClickEvent } from '../schemas/click-event';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '256' },
    repeats: { type: 'string', default: '3' },
    fetch: { type: 'string', default: '2000' },
  },
});
/** A flag's value as a positive integer, or exit naming the flag. */
function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:recurring-loop: --${flag} must be a positive integer, got '${value}'`);
    process.exit(2);
  }
  return n;
}
const EVENTS = positiveInt('events', values.events);
const BATCH = positiveInt('batch', values.batch);
const REPEATS = positiveInt('repeats', values.repeats);
const FETCH = positiveInt('fetch', values.fetch);
const TOPIC = 'bench.clicks';
const PARTITIONS = 3;

/** A sink that keeps nothing: the benchmark's events are all valid. */
function nullSink(): DeadLetterSink {
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

/** Wraps a trainer so its `predict` and `step` time adds up in `phases`. */
function timedTrainer(trainer: Trainer, phases: Map<string, number>): Trainer {
  const add = (name: string, ms: number): void =>
    void phases.set(name, (phases.get(name) ?? 0) + ms);
  return new Proxy(trainer, {
    get(target, prop, receiver) {
      if (prop === 'predict' || prop === 'step') {
        const fn = Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown;
        return (...args: unknown[]) => {
          const t = performance.now();
          const out = fn.apply(target, args);
          add(prop, performance.now() - t);
          return out;
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const { spec, rows } = syntheticEventRows({ preset: 'capacity-bound', rows: EVENTS, seed: 7 });
  /** The recurring loop's settings here: every event valid, no version published. */
  const loopOptions = (trainer: Trainer) => ({
    trainer,
    spec,
    metrics: createProgressiveMetrics(),
    deadLetters: nullSink(),
    publishVersion: () => Promise.resolve(),
    startOffsets: { [TOPIC]: { 0: 0, 1: 0, 2: 0 } },
    batchSize: BATCH,
    publishEveryEvents: Number.MAX_SAFE_INTEGER,
    recordTrainedIds: false,
  });
  const config = modelConfigForFeatures(spec, { batchSize: BATCH, seed: 1 });
  const start = Date.now() - EVENTS;
  const events: ClickEvent[] = [];
  for (const row of rows) {
    events.push({
      v: 1,
      eventId: `e-${events.length}`,
      eventTime: start + events.length,
      label: row.label,
      dense: row.dense,
      sparse: row.sparse,
    });
  }
  const messages: IncomingMessage[] = events.map((e, i) => ({
    topic: TOPIC,
    partition: i % PARTITIONS,
    offset: Math.floor(i / PARTITIONS),
    key: Buffer.from(e.eventId),
    value: encodeEvent(e),
  }));
  const batches: ColumnarBatch[] = [];
  for (let i = 0; i < events.length; i += BATCH)
    batches.push(eventsToBatch(events.slice(i, i + BATCH), spec));

  // Phases outside the trainer, timed on their own over the same events.
  const decode = createEventDecoder(spec);
  let t = performance.now();
  for (const m of messages) decode(m.value);
  const decodeMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < events.length; i += BATCH) eventsToBatch(events.slice(i, i + BATCH), spec);
  const encodeMs = performance.now() - t;

  console.log(
    `backend ${backend}; ${EVENTS} events of the main command's model (capacity-bound ` +
      `preset: ${config.numDense} dense, ${config.tableSizes.length} tables), batch ${BATCH}`,
  );
  const offlineRates: number[] = [];
  const loopRates: number[] = [];
  const threadRates: number[] = [];
  const threadCores: number[] = [];
  // Cores in use while each ran: process CPU time (JS thread + TensorFlow's threads) / wall.
  const offlineCores: number[] = [];
  const loopCores: number[] = [];
  const cores = (cpu: NodeJS.CpuUsage, ms: number): number => (cpu.user + cpu.system) / 1000 / ms;
  const phaseTotals = new Map<string, number>();
  for (let r = 0; r < REPEATS; r++) {
    // Offline: trainer.step over ready batches (what runOfflineTraining's loop does per batch).
    const offline = createTrainer(config);
    for (const b of batches.slice(0, 5)) offline.step(b);
    t = performance.now();
    let cpu = process.cpuUsage();
    for (const b of batches) offline.step(b);
    const offlineMs = performance.now() - t;
    offlineCores.push(cores(process.cpuUsage(cpu), offlineMs));
    offlineRates.push(events.length / (offlineMs / 1000));
    offline.dispose();

    // Recurring: the loop over JSON messages, on an identically initialised trainer.
    const phases = new Map<string, number>();
    const trainer = timedTrainer(createTrainer(config), phases);
    for (const b of batches.slice(0, 5)) trainer.step(b);
    phases.clear();
    const loop = createTrainingLoop(loopOptions(trainer));
    t = performance.now();
    cpu = process.cpuUsage();
    for (const m of messages) await loop.handle(m);
    const loopMs = performance.now() - t;
    loopCores.push(cores(process.cpuUsage(cpu), loopMs));
    loopRates.push(events.length / (loopMs / 1000));
    trainer.dispose();
    phases.set('total', loopMs);
    for (const [k, v] of phases) phaseTotals.set(k, (phaseTotals.get(k) ?? 0) + v);

    // The same loop with its decode thread, fed fetches as eachBatch feeds it.
    const threaded = createTrainer(config);
    for (const b of batches.slice(0, 5)) threaded.step(b);
    const threadLoop = createTrainingLoop({ ...loopOptions(threaded), decodeThread: true });
    // The first message before the clock: the thread's start-up (loading its modules) is paid
    // once per window, not per event.
    await threadLoop.decodeAhead(messages.slice(0, 1)).handle(0);
    t = performance.now();
    cpu = process.cpuUsage();
    for (let i = 1; i < messages.length; i += FETCH) {
      const fetch = messages.slice(i, i + FETCH);
      const ahead = threadLoop.decodeAhead(fetch);
      for (let k = 0; k < fetch.length; k++) await ahead.handle(k);
    }
    const threadMs = performance.now() - t;
    threadCores.push(cores(process.cpuUsage(cpu), threadMs));
    threadRates.push((events.length - 1) / (threadMs / 1000));
    await threadLoop.close();
    threaded.dispose();
    console.log(
      `repeat ${r + 1}: offline ${offlineRates[r]?.toFixed(0)} samples/s, recurring loop ` +
        `${loopRates[r]?.toFixed(0)} events/s (${((loopRates[r] ?? 0) / (offlineRates[r] ?? 1)).toFixed(2)}×), ` +
        `with its decode thread ${threadRates[r]?.toFixed(0)} events/s ` +
        `(${((threadRates[r] ?? 0) / (offlineRates[r] ?? 1)).toFixed(2)}×)`,
    );
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
  const off = median(offlineRates);
  const rec = median(loopRates);
  const thr = median(threadRates);
  console.log(
    `\nmedian: offline ${off.toFixed(0)} samples/s, recurring loop ${rec.toFixed(0)} events/s, ratio ${(rec / off).toFixed(3)}`,
  );
  console.log(
    `        recurring loop with its decode thread ${thr.toFixed(0)} events/s, ratio ${(thr / off).toFixed(3)}`,
  );
  const total = (phaseTotals.get('total') ?? 0) / REPEATS;
  const per = (ms: number): string => `${((ms / EVENTS) * 1000).toFixed(2)} µs/event`;
  console.log(
    `cores in use (CPU time / wall): offline ${median(offlineCores).toFixed(2)}, ` +
      `recurring loop ${median(loopCores).toFixed(2)}, with its decode thread ` +
      `${median(threadCores).toFixed(2)}`,
  );
  console.log(`\nrecurring loop per event (mean of ${REPEATS}):`);
  console.log(`  total                      ${per(total)}`);
  for (const k of ['step']) {
    const ms = (phaseTotals.get(k) ?? 0) / REPEATS;
    console.log(`  trainer.${k.padEnd(20)} ${per(ms)}  ${((ms / total) * 100).toFixed(0)}%`);
  }
  console.log(
    `  decode+validate (alone)    ${per(decodeMs)}  ${((decodeMs / total) * 100).toFixed(0)}%`,
  );
  console.log(
    `  eventsToBatch (alone)      ${per(encodeMs)}  ${((encodeMs / total) * 100).toFixed(0)}%`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
