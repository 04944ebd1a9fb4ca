/**
 * Errors across threads. A batch that fails (rare) fails the records of every thread that
 * wrote into it; the owner sends each distinct error ONCE over the shared accumulator's
 * BroadcastChannel, as plain data, and completion cells name it by number. The receiving
 * thread rebuilds the same typed error — same class, `code`, message and numbers — so a
 * callback on an appender thread sees what it would see on the owner's thread.
 *
 * Rejected: structured-cloning the Error object itself. Node clones an Error as a plain
 * `Error` (the subclass, `code`, `errorCode` are lost), so `err instanceof BrokerError` would
 * fail on the appender side.
 */
import {
  AbortedError,
  BrokerError,
  BufferExhaustedError,
  ClosedError,
  ConfigError,
  CorruptBatchError,
  IllegalStateError,
  InvalidRecordError,
  ProtocolError,
  RecordTooLargeError,
  SaslAuthenticationError,
  SealError,
  SluiceError,
  SslAuthenticationError,
  TimeoutError,
} from '../errors.js';

/** A {@link SluiceError} as plain, postable data. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly retriable: boolean;
  readonly errorCode?: number;
  readonly errorName?: string;
  readonly field?: string;
  readonly sizeBytes?: number;
  readonly mechanism?: string;
  readonly tlsCode?: string;
}

/** @returns `error` as plain data (see {@link deserializeError}) */
export function serializeError(error: SluiceError): SerializedError {
  const e = error as SluiceError & Partial<Record<'errorCode' | 'errorName' | 'field' | 'sizeBytes' | 'mechanism' | 'tlsCode', unknown>>;
  return {
    name: error.name,
    message: error.message,
    retriable: error.retriable,
    errorCode: typeof e.errorCode === 'number' ? e.errorCode : undefined,
    errorName: typeof e.errorName === 'string' ? e.errorName : undefined,
    field: typeof e.field === 'string' ? e.field : undefined,
    sizeBytes: typeof e.sizeBytes === 'number' ? e.sizeBytes : undefined,
    mechanism: typeof e.mechanism === 'string' ? e.mechanism : undefined,
    tlsCode: typeof e.tlsCode === 'string' ? e.tlsCode : undefined,
  };
}

/** A typed error with the same class, code and message as the one serialized. */
export function deserializeError(s: SerializedError): SluiceError {
  switch (s.name) {
    case 'BrokerError':
      return new BrokerError(s.errorCode ?? -1, s.errorName ?? 'UNKNOWN_SERVER_ERROR', s.retriable, s.message);
    case 'TimeoutError':
      return new TimeoutError(s.message, s.retriable);
    case 'AbortedError':
      return new AbortedError(s.message);
    case 'ClosedError':
      return new ClosedError(s.message);
    case 'RecordTooLargeError':
      return new RecordTooLargeError(s.sizeBytes ?? -1, s.message);
    case 'BufferExhaustedError':
      return new BufferExhaustedError(s.message);
    case 'SealError':
      return new SealError(s.message);
    case 'CorruptBatchError':
      return new CorruptBatchError(s.message);
    case 'ProtocolError':
      return new ProtocolError(s.message);
    case 'ConfigError':
      return new ConfigError(s.message);
    case 'IllegalStateError':
      return new IllegalStateError(s.message);
    case 'InvalidRecordError': {
      const e = new InvalidRecordError(s.field ?? 'record', '');
      Object.defineProperty(e, 'message', { value: s.message });
      return e;
    }
    case 'SaslAuthenticationError': {
      const e = new SaslAuthenticationError(s.mechanism ?? '?', '');
      Object.defineProperty(e, 'message', { value: s.message });
      return e;
    }
    case 'SslAuthenticationError':
      return new SslAuthenticationError(s.tlsCode ?? '?', s.message);
    default:
      return new AbortedError(s.message);
  }
}

/** Messages on the shared accumulator's BroadcastChannel (all rare: never per record on the hot path). */
export type SharedChannelMessage =
  | { readonly t: 'error'; readonly id: number; readonly error: SerializedError }
  | {
      readonly t: 'big';
      readonly from: number;
      readonly req: number;
      readonly partitionIndex: number;
      readonly afterSeq: number;
      readonly topic: string;
      readonly partition: number;
      readonly timestamp: number;
      readonly key: Uint8Array | string | null;
      readonly value: Uint8Array | string | null;
      readonly headers: readonly { key: string; value: Uint8Array | string | null }[] | null;
    }
  | {
      readonly t: 'bigdone';
      readonly to: number;
      readonly req: number;
      readonly offset: number;
      readonly timestamp: number;
      readonly error: SerializedError | null;
    };

/** The BroadcastChannel name of a shared accumulator (from the number in its header). */
export function sharedChannelName(channelId: number): string {
  return `sluice-shared-accumulator-${channelId >>> 0}`;
}
