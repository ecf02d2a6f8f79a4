import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DataSourceConfig } from '../../schemas/data-source';
import { FeatureSpec } from '../../schemas/feature-spec';
import { parseOrThrow } from '../../schemas/zod-errors';
import { infraConfig } from '../config/env';
import { ConfigError } from '../errors';
import { DEFAULT_OUTAGE_LIMIT_MS, retryThroughOutage } from '../outage-retry';
import { createKafka } from '../stream/kafka-client';
import { isKafkaOutage } from '../stream/kafka-outage';
import { createReplayProducer, replay } from '../stream/replay';
import { openSource } from '../data/open-source';
import {
  sourceColumnReplayRows,
  sourceColumnSpec,
  specEventTimeColumn,
  type EventTimeColumn,
} from '../stream/replay-source-columns';
import { openReplayRows, type ReplayRows } from '../stream/replay-sources';

const USAGE = `usage: agp replay --data <source> --topic <topic> [options]

Streams a dataset into a Kafka topic as JSON click events (schemas/click-event.ts), in the
dataset's row order, keyed by event id.

<source>:
  synthetic[:<preset>]     the synthetic generator (presets: capacity-bound, capacity-bound-v2, criteo-like)
  <file>.tsv               Criteo TSV       <file>.parquet   Parquet      <file>.arrow  Arrow IPC
  <dir>                    MovieLens (a directory with ratings.csv and movies.csv)
  <config>.json | '{…}'    a data-source config (schemas/data-source.ts), e.g.
                           '{"kind":"synthetic","preset":"capacity-bound","rows":100000,"seed":3}'

options:
  --rate <n>        events per second (default: as fast as the broker takes them)
  --limit <n>       stop after n events
  --start-row <n>   skip the first n rows of the source (default 0)
  --rows <n>        rows of a synthetic source (default 100000)
  --seed <n>        seed of a synthetic source (default 1)
  --spec <file>     feature spec JSON for TSV/Parquet/Arrow/CSV files (default: the Criteo
                    layout). Events carry the source columns the spec reads (a derived feature's
                    column, e.g. a timestamp, not its hour), and the consumer derives them
  --event-time <c>  take event times from column c (default: the column of the spec's first
                    hourOfDay/dayOfWeek feature; without one, the wall clock at send time)
  --id-prefix <p>   event ids are <p>-<row> (default r<start time>)
  --batch <n>       messages per produce request (default 1000)
  --outage-limit <s>  while Kafka is unreachable, retry for up to s seconds, then fail (default 300)
  --json            print the result as JSON

Replaying an encoded file re-emits hashed bucket ids as categorical values (they are hashed
again on the way in); the synthetic source replays its raw values.
`;

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigError(`--${flag}: expected a non-negative integer, got '${value}'`);
  return n;
}

/** Turns `--data` into a data-source config. */
export function parseDataArgument(
  data: string,
  extras: { rows?: number; seed?: number },
): DataSourceConfig {
  let input: unknown;
  if (data === 'synthetic' || data.startsWith('synthetic:')) {
    input = {
      kind: 'synthetic',
      preset: data.slice('synthetic:'.length) || undefined,
      rows: extras.rows ?? 100_000,
      seed: extras.seed ?? 1,
    };
  } else if (data.trimStart().startsWith('{')) {
    input = parseJson(data, '--data');
  } else if (data.endsWith('.json')) {
    input = parseJson(readText(data), data);
  } else if (data.endsWith('.tsv') || data.endsWith('.txt')) {
    input = { kind: 'criteo-tsv', path: data };
  } else if (data.endsWith('.parquet')) {
    input = { kind: 'parquet', path: data };
  } else if (data.endsWith('.arrow') || data.endsWith('.arrows') || data.endsWith('.feather')) {
    input = { kind: 'arrow', path: data };
  } else {
    input = { kind: 'movielens', dir: data };
  }
  return parseOrThrow(DataSourceConfig, input, `data source '${data}'`);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${where}: not valid JSON (${(e as Error).message})`);
  }
}

const FILE_KINDS = new Set(['parquet', 'arrow', 'csv', 'criteo-tsv']);

/**
 * The rows to replay: a file read with a user's spec sends the spec's source columns, with
 * event times from its event-time column (`eventTime` names another); anything else as before.
 */
export function replayRows(
  config: DataSourceConfig,
  spec: FeatureSpec | undefined,
  startRow: number,
  eventTime?: string,
): ReplayRows {
  if (spec === undefined || !FILE_KINDS.has(config.kind)) {
    if (eventTime !== undefined) {
      throw new ConfigError(
        '--event-time: needs --spec and a file source (Parquet, Arrow, CSV, TSV)',
      );
    }
    return openReplayRows(config, spec, startRow);
  }
  const fromSpec = specEventTimeColumn(spec);
  const time: EventTimeColumn | null =
    eventTime === undefined ? fromSpec : { column: eventTime, unit: fromSpec?.unit ?? 's' };
  return sourceColumnReplayRows(openSource(config, sourceColumnSpec(spec)), time, startRow);
}

/** `agp replay`: stream a dataset into Kafka. */
export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        topic: { type: 'string' },
        rate: { type: 'string' },
        limit: { type: 'string' },
        'start-row': { type: 'string' },
        rows: { type: 'string' },
        seed: { type: 'string' },
        spec: { type: 'string' },
        'event-time': { type: 'string' },
        'id-prefix': { type: 'string' },
        batch: { type: 'string' },
        'outage-limit': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`agp replay: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.data === undefined || values.topic === undefined) {
    process.stderr.write(`agp replay: --data and --topic are required\n\n${USAGE}`);
    return 2;
  }
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0))
    throw new ConfigError(`--rate: expected events per second > 0, got '${values.rate}'`);
  const limit = positiveInt(values.limit, 'limit');
  const batch = positiveInt(values.batch, 'batch');
  const rows = positiveInt(values.rows, 'rows');
  const outageLimitMs =
    (positiveInt(values['outage-limit'], 'outage-limit') ?? DEFAULT_OUTAGE_LIMIT_MS / 1000) * 1000;
  const seed = positiveInt(values.seed, 'seed');
  const config = parseDataArgument(values.data, {
    ...(rows === undefined ? {} : { rows }),
    ...(seed === undefined ? {} : { seed }),
  });
  const spec =
    values.spec === undefined
      ? undefined
      : parseOrThrow(
          FeatureSpec,
          parseJson(readText(values.spec), values.spec),
          `feature spec ${values.spec}`,
        );
  const source = replayRows(
    config,
    spec,
    positiveInt(values['start-row'], 'start-row') ?? 0,
    values['event-time'],
  );

  const kafkaConfig = infraConfig().kafka;
  const kafka = createKafka(kafkaConfig, { clientId: 'agp-replay' });
  const producer = createReplayProducer(kafka);
  const log = (line: string): void => void process.stderr.write(`agp replay: ${line}\n`);
  await retryThroughOutage(() => producer.connect(), {
    what: `Kafka at ${kafkaConfig.brokers.join(',')}`,
    isOutage: isKafkaOutage,
    limitMs: outageLimitMs,
    log,
  });
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await replay(source.rows, {
      producer,
      topic: values.topic,
      signal: abort.signal,
      outageLimitMs,
      log,
      ...(rate === undefined ? {} : { rate }),
      ...(limit === undefined ? {} : { limit }),
      ...(batch === undefined ? {} : { sendBatchSize: batch }),
      ...(values['id-prefix'] === undefined ? {} : { idPrefix: values['id-prefix'] }),
    });
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ topic: values.topic, source: source.describe, ...result })}\n`,
      );
    } else {
      process.stdout.write(
        `replayed ${result.events} events from ${source.describe} to '${values.topic}' in ${result.seconds.toFixed(2)} s: ${Math.round(result.eventsPerSecond)} events/s\n`,
      );
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await producer.disconnect();
  }
}
