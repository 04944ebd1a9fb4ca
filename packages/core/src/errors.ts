/**
 * Typed errors. Every error Sluice raises is a {@link SluiceError} with a stable
 * `code` (`SLUICE_ERR_…`) and a message that carries the numbers involved, so that a
 * log line alone says what went wrong ("could not allocate 16384 bytes within
 * maxBlockMs=60000; total 33554432, available 0, waiters 12").
 *
 * `retriable` follows Kafka's `RetriableException`: the same operation may succeed later.
 */

/** Stable error codes, one per error class. */
export type SluiceErrorCode =
  | 'SLUICE_ERR_CONFIG'
  | 'SLUICE_ERR_INVALID_RECORD'
  | 'SLUICE_ERR_RECORD_TOO_LARGE'
  | 'SLUICE_ERR_BUFFER_EXHAUSTED'
  | 'SLUICE_ERR_ILLEGAL_STATE'
  | 'SLUICE_ERR_CLOSED'
  | 'SLUICE_ERR_ABORTED'
  | 'SLUICE_ERR_TIMEOUT'
  | 'SLUICE_ERR_CORRUPT_BATCH'
  | 'SLUICE_ERR_SEAL_FAILED'
  | 'SLUICE_ERR_BROKER'
  | 'SLUICE_ERR_PROTOCOL'
  | 'SLUICE_ERR_SASL_AUTHENTICATION'
  | 'SLUICE_ERR_SSL_AUTHENTICATION';

/** Base class of every error Sluice throws or completes a record with. */
export class SluiceError extends Error {
  /** Stable machine-readable code. */
  readonly code: SluiceErrorCode;
  /** Whether retrying the same operation later may succeed (Kafka's `RetriableException`). */
  readonly retriable: boolean;

  constructor(code: SluiceErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}

/** A configuration name is unknown or its value is out of range. Names the setting and the value. */
export class ConfigError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_CONFIG', message);
  }
}

/** A record handed to `append`/`send` is malformed. `field` names the bad field. */
export class InvalidRecordError extends SluiceError {
  /** The offending field: `topic`, `partition`, `timestamp`, `key`, `value`, `headers[2].key` … */
  readonly field: string;
  constructor(field: string, message: string) {
    super('SLUICE_ERR_INVALID_RECORD', `invalid record: ${field} ${message}`);
    this.field = field;
  }
}

/** A record is larger than `maxRequestSize` or `bufferMemory` (Kafka's `RecordTooLargeException`). */
export class RecordTooLargeError extends SluiceError {
  /** Serialized size of the record in bytes (upper bound, including the batch header). */
  readonly sizeBytes: number;
  constructor(sizeBytes: number, message: string) {
    super('SLUICE_ERR_RECORD_TOO_LARGE', message);
    this.sizeBytes = sizeBytes;
  }
}

/** No pool memory became free within `maxBlockMs` (Kafka's `BufferExhaustedException`). */
export class BufferExhaustedError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_BUFFER_EXHAUSTED', message, { retriable: true });
  }
}

/** An internal invariant was broken (double free, impossible state transition). Always a bug. */
export class IllegalStateError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_ILLEGAL_STATE', message);
  }
}

/** The accumulator, pool or producer was closed before the operation could finish. */
export class ClosedError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_CLOSED', message);
  }
}

/** The record's batch was aborted (`abortIncompleteBatches`, forced close) before it was acknowledged. */
export class AbortedError extends SluiceError {
  constructor(message: string, cause?: unknown) {
    super('SLUICE_ERR_ABORTED', message, { cause });
  }
}

/**
 * `err` as a {@link SluiceError}: itself when it is one, else an {@link AbortedError} with its
 * message and `cause` — a plain Error handed in as an abort reason reaches record callbacks
 * typed like every other outcome.
 */
export function asSluiceError(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  return new AbortedError((err as Error)?.message ?? String(err), err);
}

/** A batch expired (`deliveryTimeoutMs`) or a request timed out. The message says how long and where. */
export class TimeoutError extends SluiceError {
  constructor(message: string, retriable = false) {
    super('SLUICE_ERR_TIMEOUT', message, { retriable });
  }
}

/** Bytes that claim to be a RecordBatch are not one (bad magic, length, CRC). */
export class CorruptBatchError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_CORRUPT_BATCH', message);
  }
}

/** Sealing (compression, header, CRC) failed, including after a retry on another worker. */
export class SealError extends SluiceError {
  constructor(message: string, cause?: unknown) {
    super('SLUICE_ERR_SEAL_FAILED', message, { cause });
  }
}

/** A broker answered a partition with a Kafka error code. */
export class BrokerError extends SluiceError {
  /** Kafka's numeric error code (e.g. 6 NOT_LEADER_OR_FOLLOWER, 10 MESSAGE_TOO_LARGE). */
  readonly errorCode: number;
  /** Kafka's error name, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly errorName: string;
  constructor(errorCode: number, errorName: string, retriable: boolean, message: string) {
    super('SLUICE_ERR_BROKER', message, { retriable });
    this.errorCode = errorCode;
    this.errorName = errorName;
  }
}

/**
 * Bytes on the wire are not what the Kafka protocol allows: a frame or field is truncated, a
 * length is negative or too large, a version is outside what Sluice speaks, or no API version
 * is common to Sluice and the broker. The message names the message and version, the field,
 * the offset and the byte counts ("ProduceResponse v9: cannot read int32 error_code at offset
 * 57: only 2 of 4 bytes left"). Not retriable: the connection that produced it is unusable.
 */
export class ProtocolError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_PROTOCOL', message);
  }
}

/**
 * The client could not authenticate to a broker, or the broker to the client: fatal, as in
 * Kafka (`AuthenticationException`) — retrying with the same credentials or certificates
 * cannot succeed, so the producer fails its records with it instead of retrying forever.
 */
export abstract class AuthenticationError extends SluiceError {}

/**
 * A SASL exchange failed on the client side (a malformed or forged server message, a server
 * `e=` error, a bad server signature) or the broker rejected the credentials. The message names
 * the mechanism and never contains the password or token.
 */
export class SaslAuthenticationError extends AuthenticationError {
  /** The SASL mechanism, e.g. `SCRAM-SHA-512`. */
  readonly mechanism: string;
  constructor(mechanism: string, message: string) {
    super('SLUICE_ERR_SASL_AUTHENTICATION', `SASL ${mechanism} authentication failed: ${message}`);
    this.mechanism = mechanism;
  }
}

/**
 * The TLS handshake with a broker failed for a reason retrying cannot fix: its certificate
 * is not trusted, has expired, or does not name the host; or the broker refused the client's
 * certificate. The message names the broker and the reason (Node's code, e.g. `CERT_HAS_EXPIRED`).
 */
export class SslAuthenticationError extends AuthenticationError {
  /** Node's TLS error code, e.g. `ERR_TLS_CERT_ALTNAME_INVALID`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`. */
  readonly tlsCode: string;
  constructor(tlsCode: string, message: string) {
    super('SLUICE_ERR_SSL_AUTHENTICATION', message);
    this.tlsCode = tlsCode;
  }
}
