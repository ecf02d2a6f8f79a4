/**
 * The one error base of the product. `retriable` tells callers (and the activity layer,
 * which maps it to a Temporal ApplicationFailure) whether trying again can help;
 * a user's mistake (bad config, bad file, bad event) is never retriable.
 */
export class AgpError extends Error {
  override readonly name: string = 'AgpError';
  readonly retriable: boolean;
  /** Stable machine-readable kind, used as the Temporal failure type. */
  readonly kind: string;

  constructor(
    kind: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.retriable = options.retriable ?? false;
  }
}

/** A user-supplied configuration value is invalid; the message names the field. */
export class ConfigError extends AgpError {
  override readonly name = 'ConfigError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ConfigError', message, options);
  }
}

/** An input file or record is malformed; the message names the file and line or record. */
export class DataError extends AgpError {
  override readonly name = 'DataError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('DataError', message, options);
  }
}

/** A dependency (server, backend, file system) failed in a way that may succeed on retry. */
export class InfraError extends AgpError {
  override readonly name = 'InfraError';
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('InfraError', message, { retriable: options.retriable ?? true, cause: options.cause });
  }
}
