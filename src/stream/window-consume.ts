import type { Consumer, EachBatchPayload } from 'kafkajs';
import { InfraError } from '../errors';
import { createHeartbeats } from './consumer-heartbeats';
import { fairPauses, type FairConsumption } from './fair-consumer';
import { parseOffset, type TopicOffsets } from './offsets';
import type { PublishInFlight } from './publish-in-flight';
import type { WindowOptions } from './recurring-trainer';
import type { ProgressiveMetrics, TrainingLoop } from './training-loop';
import type { WindowClock } from './window-timings';

/**
 * A recurring window's consumer loop (src/stream/recurring-trainer.ts' `runWindow` sets it up):
 * Kafka batches decoded ahead and handed to the training loop message by message, version
 * boundaries by count and by clock with one publish in flight, the window's end by versions,
 * time or abort, heartbeats, fair consumption and the per-phase clock.
 */

/**
 * Training yields to the event loop after this much work inside a batch. A Kafka batch of a
 * few thousand events trains for a second or more without an I/O turn otherwise, and the
 * version publishing in the background (file writes, uploads: dozens of turns) and kafkajs'
 * next fetch wait that long for each of theirs.
 */
const YIELD_EVERY_MS = 2;

/** One turn of the event loop: I/O callbacks that are ready run, then training goes on. */
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Serialises async work: Kafka batches and timer-driven publishes never interleave. */
export type Serial = <T>(work: () => Promise<T>) => Promise<T>;

/** Creates a {@link Serial}. */
export function createSerial(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };
}

export interface ConsumeOptions extends WindowOptions {
  /** Fair consumption's bookkeeping and where partition ends are read. */
  fair?: FairConsumption;
  wanted: number;
  started: number;
  serial: Serial;
  publishes: PublishInFlight;
  clock: WindowClock;
  metrics: ProgressiveMetrics;
  onFailHook(fail: (error: unknown) => void): void;
  onTimer(timer: NodeJS.Timeout): void;
  onAbortHook(listener: () => void): void;
}

/** Runs the consumer until enough versions are published or the signal aborts. */
export function consume(
  consumer: Consumer,
  loop: TrainingLoop,
  flushDeadLetters: () => Promise<void>,
  options: ConsumeOptions,
): Promise<'versions' | 'time' | 'abort'> {
  const { serial, clock } = options;
  const heartbeats = createHeartbeats();
  // Wall time between two pieces of training-thread work is a wait for Kafka (`fetchWait`);
  // null until the first batch (before it, the time is the group join's).
  const subscribed = performance.now();
  let idleSince: number | null = null;
  const endIdle = (): void => {
    if (idleSince === null) clock.add('join', performance.now() - subscribed);
    else clock.add('fetchWait', performance.now() - idleSince);
  };
  const idle = (): void => void (idleSince = performance.now());
  /** Work between batches (a publish by the clock): not a wait for Kafka. */
  const betweenBatches = async (work: () => Promise<void>): Promise<void> => {
    if (idleSince !== null) endIdle();
    try {
      await work();
    } finally {
      if (idleSince !== null) idle();
    }
  };
  let stopping = false;
  let running: Promise<void> = Promise.resolve();
  return new Promise<'versions' | 'time' | 'abort'>((resolve, reject) => {
    // Resolve only once the consumer has started (or failed to): leaving the group while
    // kafkajs is still joining it would race the join.
    const stop = (why: 'versions' | 'time' | 'abort'): void => {
      stopping = true;
      const done = (): void => resolve(why);
      running.then(done, done);
    };
    const fail = (error: unknown): void => {
      stopping = true;
      reject(error instanceof Error ? error : new InfraError(String(error)));
    };
    options.onFailHook(fail);
    const commit = async (offsets: TopicOffsets): Promise<void> => {
      // Only the topic this window consumes. A version's offsets also carry every topic its
      // lineage trained on (a model continued onto a new topic, as a second `npm start` does);
      // this group never consumed those, and a topic gone from the broker made the commit
      // fail the window after every first version (UNKNOWN_TOPIC_OR_PARTITION).
      const parts = offsets[options.topic] ?? {};
      await consumer.commitOffsets(
        Object.entries(parts).map(([partition, offset]) => ({
          topic: options.topic,
          partition: Number(partition),
          offset: String(offset),
        })),
      );
    };
    let lastPublish = Date.now();
    const windowOver = (): boolean =>
      options.windowSeconds !== undefined &&
      Date.now() - options.started >= options.windowSeconds * 1000;
    const publish = async (): Promise<void> => {
      // One publish in flight: a boundary taken while it runs (the window's last, by time)
      // waits for it. A held version aborts the window (the events trained after its boundary
      // descend from it and are dropped, uncommitted), and a failed one fails it: either way
      // nothing more is published.
      await clock.time('publishWait', () => heartbeats.during(() => options.publishes.settled()));
      if (stopping) return;
      const boundaryAt = performance.now();
      const started = await clock.time('boundary', () =>
        heartbeats.during(() => loop.startPublish()),
      );
      // Also when there was nothing to publish: an idle topic is not re-checked every second.
      lastPublish = Date.now();
      if (started === null) return;
      started.durable.then(
        () => clock.published(performance.now() - boundaryAt),
        () => undefined,
      );
      const durable = options.publishes.track(started.durable, () => commit(started.offsets));
      if (loop.stats().published >= options.wanted || windowOver()) {
        // The last version of the window: train no further, end once it is durable.
        stopping = true;
        await clock.time('lastPublish', () => heartbeats.during(() => durable));
        stop('versions');
        return;
      }
      // A boundary that came due while this publish ran was deferred (see eachBatch); take it
      // once this one is durable, also when no further event arrives to trigger it.
      durable.then(
        () => {
          if (stopping || !loop.publishDue()) return;
          serial(() =>
            betweenBatches(async () => {
              if (!stopping && loop.publishDue() && !options.publishes.busy()) await publish();
            }),
          ).catch(fail);
        },
        () => undefined,
      );
    };

    if (options.signal?.aborted) return stop('abort');
    const onAbort = (): void => stop('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    options.onAbortHook(onAbort);
    // The clock counts from the last version (or the window's start), not in fixed ticks: a
    // tick right after a version published by count made a version of a handful of events.
    const everyMs = (options.publishEverySeconds ?? 60) * 1000;
    options.onTimer(
      setInterval(
        () => {
          if (stopping) return;
          // Past its time: the window publishes what it consumed since its last version (a
          // version by time, as the clock's) and ends, or ends at once when that is nothing (an
          // idle topic), so the workflow hears signals and reports status on time.
          if (windowOver()) {
            serial(() =>
              betweenBatches(async () => {
                await clock.time('publishWait', () => options.publishes.settled());
                if (stopping) return;
                if (loop.stats().sinceVersion === 0) stop('time');
                else await publish();
              }),
            ).catch(fail);
            return;
          }
          if (Date.now() - lastPublish < everyMs || options.publishes.busy()) return;
          serial(() =>
            betweenBatches(async () => {
              if (Date.now() - lastPublish < everyMs || options.publishes.busy()) return;
              await publish();
            }),
          ).catch(fail);
        },
        Math.min(everyMs, 1000),
      ),
    );
    // Progress on a clock, not per Kafka batch, so an idle topic still heartbeats; once a
    // second because the metrics snapshot sorts the window (AUC).
    const onProgress = options.onProgress;
    if (onProgress) {
      options.onTimer(
        setInterval(() => {
          if (stopping) return;
          const stats = loop.stats();
          const seconds = Math.max((Date.now() - options.started) / 1000, 1e-3);
          try {
            onProgress({
              stats,
              offsets: loop.positions(),
              eventsPerSecond: stats.trained / seconds,
              metrics: options.metrics.snapshot(),
            });
          } catch (error) {
            fail(error);
          }
        }, options.progressEveryMs ?? 1000),
      );
    }

    const fair =
      options.fair === undefined ? undefined : fairPauses(consumer, options.topic, options.fair);
    if (fair !== undefined) {
      options.onTimer(
        setInterval(() => {
          if (!stopping) fair.refresh(loop.positions()).catch(() => undefined);
        }, options.endsEveryMs ?? 1000),
      );
    }

    // Seek on every (re)join, before the first fetch: kafkajs emits GROUP_JOIN after the
    // assignment and before fetching, and applies pending seeks at the start of each fetch.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        const positions = loop.positions()[topic] ?? {};
        for (const partition of partitions) {
          const offset = positions[partition];
          if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) });
        }
      }
      fair?.joined();
    });

    const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
      endIdle();
      try {
        await eachBatchTimed(payload);
      } finally {
        idle();
      }
    };
    const eachBatchTimed = async (payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      heartbeats.use(payload.heartbeat);
      fair?.sawEnd(batch.partition, parseOffset(batch.highWatermark));
      // Decoded ahead (on the decode thread), handled message by message: a stop, a publish or
      // a fairness pause still falls between two messages.
      const messages = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: parseOffset(m.offset),
        key: m.key,
        value: m.value,
      }));
      const ahead = loop.decodeAhead(messages);
      let yielded = performance.now();
      for (const [i, m] of messages.entries()) {
        if (stopping || !payload.isRunning() || payload.isStale()) break;
        // Paused for fairness mid-batch: the rest is fetched again once it resumes.
        if (fair?.consumed(batch.partition, m.offset) === false) break;
        const t = performance.now();
        await ahead.handle(i);
        clock.add('train', performance.now() - t);
        payload.resolveOffset(String(m.offset));
        // Due while the previous version still publishes: trained on, taken once it is durable.
        if (loop.publishDue() && (options.exactVersions === true || !options.publishes.busy())) {
          await publish();
        }
        await heartbeats.beat();
        const now = performance.now();
        if (now - yielded >= YIELD_EVERY_MS) {
          await yieldToIo();
          yielded = performance.now();
          clock.add('background', yielded - now);
        }
      }
      await flushDeadLetters();
      await payload.heartbeat();
    };

    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart)
        fail(
          new InfraError(`Kafka consumer crashed: ${payload.error.message}`, {
            cause: payload.error,
          }),
        );
    });

    running = consumer.subscribe({ topic: options.topic, fromBeginning: true }).then(() =>
      stopping
        ? undefined
        : consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: (payload) => serial(() => eachBatch(payload)).catch((e: unknown) => fail(e)),
          }),
    );
    running.catch(fail);
  });
}
