const REDACTED = '[redacted]';

/**
 * A credential (password, API key) inside a parsed configuration. Printing the configuration
 * in any way Node offers — `JSON.stringify`, `console.log` / `util.inspect`, a template string —
 * shows `[redacted]`; only {@link Secret.reveal}, called where a client is built, gives the value.
 * A value read from a file is read at reveal time, so a rotated file is picked up by the next
 * client.
 */
export class Secret {
  readonly #load: () => string;

  private constructor(load: () => string) {
    this.#load = load;
  }

  /** A secret given inline (e.g. from an environment variable). */
  static of(value: string): Secret {
    return new Secret(() => value);
  }

  /** A secret produced on demand, e.g. by reading a file (the loader is called per reveal). */
  static lazy(load: () => string): Secret {
    return new Secret(load);
  }

  /** The credential itself: pass it to a client, never to a log. */
  reveal(): string {
    return this.#load();
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  /** `util.inspect` (and so `console.log`) honours this symbol without importing node:util. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${REDACTED})`;
  }
}
