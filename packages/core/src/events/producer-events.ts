/**
 * What a producer tells its operators: typed events (`producer.on('connection', …)`) and an
 * optional logger (`new Producer({ logger: console })`, silent by default). One hub per
 * producer; the sender, the metadata owner and the network report to it.
 *
 * Cost: an event nobody listens to costs one property read — `wants(name)` is checked
 * before a payload is built — so per-batch events are free until someone subscribes.
 * Listeners and the logger are user code: a throw is caught and reported once per kind
 * (`user-hook-error.ts`), never stops the producer. Nothing here ever carries a setting's
 * value: secrets cannot leak through events or logs.
 */
import type { SluiceError } from '../errors.js';
import { reportUserHookError, setUserHookLogger } from '../user-hook-error.js';

/** A logger the producer writes to (`console` fits). Every method is optional. */
export interface ProducerLogger {
  debug?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error?(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** The events a producer emits, with their payloads. */
export interface ProducerEventMap {
  /** A broker connection became usable, was lost, or could not be made. */
  connection: {
    readonly nodeId: number;
    readonly state: 'connected' | 'disconnected';
    /** Why it was lost or could not be made (null when it became usable or was closed on purpose). */
    readonly error: SluiceError | null;
  };
  /** Metadata changed: topics whose partitions or leaders moved, topics with a non-retriable error, the broker list. */
  metadata: { readonly changedTopics: readonly string[]; readonly failedTopics: readonly string[]; readonly brokersChanged: boolean };
  /** A batch was handed to the network (first send or a retry). */
  'batch.sent': { readonly topic: string; readonly partition: number; readonly nodeId: number; readonly recordCount: number; readonly sizeBytes: number; readonly attempt: number };
  /** A batch failed with a retriable error and will be sent again after `backoffMs`. */
  'batch.retried': { readonly topic: string; readonly partition: number; readonly recordCount: number; readonly attempt: number; readonly backoffMs: number; readonly error: SluiceError };
  /** A batch failed for good: its records completed with `error`. */
  'batch.failed': { readonly topic: string; readonly partition: number; readonly recordCount: number; readonly error: SluiceError };
  /** An append had to wait for pool memory (`buffer.memory` full). */
  'buffer.wait': { readonly sizeBytes: number; readonly maxBlockMs: number };
  /** An append gave up waiting for pool memory (BufferExhaustedError). */
  'buffer.exhausted': { readonly error: SluiceError };
  /** The sender recovered from something: an idempotent epoch bump, a refused producer id request retried. */
  recovered: { readonly what: 'epoch-bump' | 'producer-id-retry'; readonly detail: string };
  /** The producer can send nothing any more (failed authentication, a refused producer id). */
  fatal: { readonly error: SluiceError };
}

/** An event name. */
export type ProducerEventName = keyof ProducerEventMap;

/** A listener of event `E`. */
export type ProducerEventListener<E extends ProducerEventName> = (payload: ProducerEventMap[E]) => void;

type Level = 'debug' | 'info' | 'warn' | 'error';

/** The level each event is logged at (per-batch successes only at debug). */
const LOG_LEVEL: Readonly<Record<ProducerEventName, Level>> = {
  connection: 'info',
  metadata: 'debug',
  'batch.sent': 'debug',
  'batch.retried': 'warn',
  'batch.failed': 'error',
  'buffer.wait': 'debug',
  'buffer.exhausted': 'warn',
  recovered: 'warn',
  fatal: 'error',
};

/** The hub; see the file comment. */
export class ProducerEvents {
  readonly #listeners: { [E in ProducerEventName]?: ProducerEventListener<E>[] } = {};
  readonly #logger: ProducerLogger | null;
  /** Per event: whether anyone (a listener, or the logger at that event's level) wants it. */
  readonly #wanted: Record<ProducerEventName, boolean>;

  /** @param logger - where to log (silent when null or missing) */
  constructor(logger: ProducerLogger | null = null) {
    this.#logger = logger;
    this.#wanted = {} as Record<ProducerEventName, boolean>;
    for (const name of Object.keys(LOG_LEVEL) as ProducerEventName[]) this.#wanted[name] = this.#logs(name);
    if (logger !== null) setUserHookLogger(logger);
  }

  /** Whether `name` has a listener or is logged: check before building a payload on a hot path. */
  wants(name: ProducerEventName): boolean {
    return this.#wanted[name];
  }

  /** Adds a listener. */
  on<E extends ProducerEventName>(name: E, listener: ProducerEventListener<E>): void {
    ((this.#listeners[name] ??= []) as ProducerEventListener<E>[]).push(listener);
    this.#wanted[name] = true;
  }

  /** Removes a listener added with {@link on}. */
  off<E extends ProducerEventName>(name: E, listener: ProducerEventListener<E>): void {
    const list = this.#listeners[name] as ProducerEventListener<E>[] | undefined;
    if (list === undefined) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
    this.#wanted[name] = list.length > 0 || this.#logs(name);
  }

  /** Tells the listeners and the logger; their throws are caught and reported once. */
  emit<E extends ProducerEventName>(name: E, payload: ProducerEventMap[E]): void {
    if (!this.#wanted[name]) return;
    const list = this.#listeners[name] as ProducerEventListener<E>[] | undefined;
    if (list !== undefined) {
      for (const l of list) {
        try {
          l(payload);
        } catch (err) {
          reportUserHookError('event listener', err);
        }
      }
    }
    const logger = this.#logger;
    if (logger === null) return;
    const level = LOG_LEVEL[name];
    const log = logger[level];
    if (log === undefined) return;
    try {
      log.call(logger, describe(name, payload), fieldsOf(payload));
    } catch (err) {
      reportUserHookError('logger', err);
    }
  }

  #logs(name: ProducerEventName): boolean {
    return this.#logger !== null && typeof this.#logger[LOG_LEVEL[name]] === 'function';
  }
}

/** One line per event, for the logger. */
function describe(name: ProducerEventName, p: ProducerEventMap[ProducerEventName]): string {
  const x = p as Record<string, unknown>;
  const err = x.error as Error | null | undefined;
  switch (name) {
    case 'connection':
      return `sluice: node ${x.nodeId} ${x.state}${err ? `: ${err.message}` : ''}`;
    case 'metadata':
      return `sluice: metadata updated (topics changed: ${(x.changedTopics as string[]).join(', ') || 'none'}${(x.failedTopics as string[]).length > 0 ? `; failed: ${(x.failedTopics as string[]).join(', ')}` : ''})`;
    case 'batch.sent':
      return `sluice: batch of ${x.recordCount} record(s) for ${x.topic}-${x.partition} sent to node ${x.nodeId} (attempt ${x.attempt})`;
    case 'batch.retried':
      return `sluice: batch of ${x.recordCount} record(s) for ${x.topic}-${x.partition} retried in ${x.backoffMs} ms after attempt ${x.attempt}: ${err?.message}`;
    case 'batch.failed':
      return `sluice: batch of ${x.recordCount} record(s) for ${x.topic}-${x.partition} failed: ${err?.message}`;
    case 'buffer.wait':
      return `sluice: buffer.memory is full; an append waits for ${x.sizeBytes} bytes (max.block.ms=${x.maxBlockMs})`;
    case 'buffer.exhausted':
      return `sluice: ${err?.message}`;
    case 'recovered':
      return `sluice: recovered (${x.what}): ${x.detail}`;
    case 'fatal':
      return `sluice: the producer cannot send any more: ${err?.message}`;
  }
}

/** The payload as log fields: errors as their name, code and message. */
function fieldsOf(p: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    out[k] = v instanceof Error ? { name: v.name, code: (v as SluiceError).code, message: v.message } : v;
  }
  return out;
}
