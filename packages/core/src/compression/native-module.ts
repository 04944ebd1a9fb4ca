/**
 * Lazy loading of the native codec bindings (snappy, lz4, zstd). Each binding is loaded the
 * first time its codec runs, on the thread that runs it, so a producer that never uses a
 * codec never loads its addon, and a seal worker loads only what it seals with.
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';

const requireFromHere = createRequire(import.meta.url);

/**
 * Returns a loader that `require`s `packageName` once and caches it.
 * @param codecName - the Kafka codec name, for the error message
 * @param packageName - the npm package holding the binding
 * @returns a function returning the module; it throws {@link ConfigError} naming the codec and
 *   the package when the binding cannot be loaded on this platform
 */
export function lazyNativeModule<T>(codecName: string, packageName: string): () => T {
  let cached: T | undefined;
  return () => {
    if (cached !== undefined) return cached;
    try {
      cached = requireFromHere(packageName) as T;
    } catch (err) {
      throw new ConfigError(
        `compression.type=${codecName} is unavailable: cannot load its native binding ${packageName} ` +
          `(${process.platform}-${process.arch}, node ${process.versions.node}): ${(err as Error).message}`,
      );
    }
    return cached;
  };
}

/**
 * Returns a loader that tries to `require` `packageName` once: the module, or null when it
 * is not installed or does not load (an optional dependency whose build failed).
 */
export function optionalNativeModule<T>(packageName: string): () => T | null {
  let loaded = false;
  let cached: T | null = null;
  return () => {
    if (!loaded) {
      loaded = true;
      try {
        cached = requireFromHere(packageName) as T;
      } catch {
        cached = null;
      }
    }
    return cached;
  };
}

/** A Buffer over the same bytes as `input` (no copy): the bindings take Buffers. */
export function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
