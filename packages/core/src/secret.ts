/**
 * A secret setting (`sasl.password`, `ssl.key.password`, an OAuth token): the value is kept
 * out of every string form — `String()`, `JSON.stringify`, `util.inspect`, error messages,
 * `--json` output — so that a logged config or a crash report never shows it. Read it with
 * {@link Secret.reveal} where it is used, and nowhere else.
 */
import { inspect } from 'node:util';

const HIDDEN = '[hidden]';

/** A value that prints as `[hidden]`. */
export class Secret {
  readonly #value: string;

  /** @param value - the secret */
  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself: only for the code that sends it. */
  reveal(): string {
    return this.#value;
  }

  /** Whether the secret is the empty string. */
  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return HIDDEN;
  }

  toJSON(): string {
    return HIDDEN;
  }

  [inspect.custom](): string {
    return HIDDEN;
  }
}
