/**
 * The sealer a `Producer` builds for itself from `seal.workers`, without a hard dependency
 * on `@sluice/worker` (core never imports it statically: STYLE 1).
 *
 * - `seal.workers: 0`, `compression.type: none`, or `auto` on one core → an
 *   {@link InlineSealer}: nothing to load, no thread.
 * - Otherwise the package is looked up SYNCHRONOUSLY (`import.meta.resolve`): if it is not
 *   installed, an explicit number of workers is a {@link ConfigError} that says what to
 *   install, and `auto` quietly seals inline. If it is, a {@link DeferredSealer} seals inline
 *   until `await import('@sluice/worker')` has loaded and `createSealer(config)` has decided
 *   (threads, or inline where the offload policy says compression will not pay), then hands
 *   every batch to that sealer. Its `eager` turns from false to true at that moment, once:
 *   the accumulator reads `sealer.eager` at each decision (closing a batch, choosing
 *   memory, splitting), so batches closed before stay queued and are sealed when drained.
 *   A failed import falls back to inline sealing with one warning.
 *
 * A producer built on an injected scheduler (virtual time: simulations, tests) does not get
 * one: seal threads run in real time and would make a seeded run unrepeatable; it seals
 * inline unless it is handed a sealer.
 *
 * Rejected: a static `import` of `@sluice/worker` (core would require piscina), and an
 * asynchronous factory (`await Producer.create(...)`), which would change the facade's API
 * for a start-up of a few milliseconds.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { ProducerConfig, ProducerConfigInput } from '../config.js';
import { ConfigError } from '../errors.js';
import { codecFor } from '../compression/codecs.js';
import type { CodecResolver } from './inline-sealer.js';
import { InlineSealer } from './inline-sealer.js';
import type { SealJob, Sealer } from './sealer.js';

/** The package that runs seal threads. */
export const WORKER_PACKAGE = '@sluice/worker';

/** What core uses of `@sluice/worker` (its `createSealer`). */
export interface WorkerPackage {
  createSealer(config: ProducerConfigInput, options?: { readonly resolveCodec?: CodecResolver }): Sealer;
}

/** Seams for tests: how the worker package is found and loaded. */
export interface DefaultSealerHooks {
  /** The package's URL, or null when it is not installed. Default: `import.meta.resolve`. */
  readonly resolveWorkerPackage?: () => string | null;
  /** Loads the package from that URL. Default: `import(url)`. */
  readonly importWorkerPackage?: (url: string) => Promise<WorkerPackage>;
}

/**
 * The worker package's URL by `import.meta.resolve` (synchronous since Node 20.6), or by
 * `require.resolve` where that is missing (older Node 20; code a loader compiled to
 * CommonJS, as tsx does under mocha); null when it is not installed.
 */
function resolveInstalled(): string | null {
  try {
    const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
    if (typeof resolve === 'function') return resolve(WORKER_PACKAGE);
    return pathToFileURL(createRequire(import.meta.url).resolve(WORKER_PACKAGE)).href;
  } catch {
    return null;
  }
}

/**
 * The sealer for a producer's settings (see the file comment).
 * @param config - the producer's resolved settings
 * @param input - the settings as given (what `createSealer` is built from)
 * @param resolveCodec - the producer's codec lookup (a caller's own is passed on)
 * @returns an InlineSealer or a DeferredSealer; the accumulator's owner closes it
 * @throws ConfigError when `seal.workers` is a number > 0, a codec is set, and
 *   `@sluice/worker` is not installed
 */
export function createDefaultSealer(config: ProducerConfig, input: ProducerConfigInput, resolveCodec: CodecResolver, hooks: DefaultSealerHooks = {}): Sealer {
  const workers = config.sealWorkers;
  if (workers === 0 || config.compressionType === 'none' || (workers === 'auto' && availableParallelism() < 2)) return new InlineSealer(resolveCodec);
  const url = (hooks.resolveWorkerPackage ?? resolveInstalled)();
  if (url === null) {
    if (workers === 'auto') return new InlineSealer(resolveCodec);
    throw new ConfigError(
      `seal.workers=${workers} asks for ${workers} seal thread(s), but the package that runs them, ${WORKER_PACKAGE}, is not installed: ` +
        `run \`npm install ${WORKER_PACKAGE}\`, or set seal.workers to 0 (seal on the caller's thread) or auto`,
    );
  }
  const load = hooks.importWorkerPackage ?? ((u: string) => import(u) as Promise<WorkerPackage>);
  // A codec lookup the caller chose is passed on; core's default lets the package use its own (lz4 levels).
  const options = resolveCodec === codecFor ? {} : { resolveCodec };
  return new DeferredSealer(resolveCodec, load(url).then((m) => (sealerInput: ProducerConfigInput) => m.createSealer(sealerInput, options)), input);
}

/**
 * Seals inline until the worker package's sealer is built, then forwards to it (see the
 * file comment). `eager` changes at most once, from false to true.
 */
export class DeferredSealer implements Sealer {
  readonly #inline: InlineSealer;
  #target: Sealer | null = null;
  #closed = false;
  /** Resolves once the target is built, or the import failed (then it stays inline). */
  readonly ready: Promise<void>;

  /**
   * @param resolveCodec - codec lookup of the inline seals before the target exists
   * @param factory - resolves to a function building the target from `input`
   */
  constructor(resolveCodec: CodecResolver, factory: Promise<(input: ProducerConfigInput) => Sealer>, input: ProducerConfigInput) {
    this.#inline = new InlineSealer(resolveCodec);
    this.ready = factory.then(
      (build) => {
        if (!this.#closed) this.#target = build(input);
      },
      (err: unknown) => {
        process.emitWarning(
          `seal.workers: ${WORKER_PACKAGE} is installed but could not be loaded (${(err as Error)?.message ?? String(err)}); sealing on the caller's thread`,
          'SluiceWarning',
        );
      },
    );
  }

  /** True once the target seals on other threads. */
  get eager(): boolean {
    return this.#target?.eager ?? false;
  }

  /** The sealer batches go to now: the worker package's, or null while it loads (or if it failed). */
  get target(): Sealer | null {
    return this.#target;
  }

  seal(job: SealJob): void {
    (this.#target ?? this.#inline).seal(job);
  }

  /** Waits for the package to load (a target built meanwhile is closed too), then closes the target. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.ready;
    await this.#target?.close();
  }
}
